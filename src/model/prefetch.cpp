// prefetch_related by name: resolves each step of each path against the model metadata (all
// before the first query), then loads level by level with one `= ANY($1)` query per relation.
#include "matrx/orm/model/prefetch.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/model/execute.hpp"
#include "matrx/orm/model/relations.hpp"

namespace asio = boost::asio;

namespace matrx::orm::detail {

const PrefetchGraph::Edge& PrefetchGraph::edge(std::size_t level, std::string_view name) const {
  const Level& l = levels.at(level);
  for (const auto& e : l.edges)
    if (e.name == name) return e;
  std::string loaded;
  for (const auto& e : l.edges) loaded += (loaded.empty() ? "" : ", ") + e.name;
  throw QueryError(fmt::format("'{}' was not prefetched from {}", name, l.model->name),
                   ErrorContext{.model = l.model->name,
                                .hint = loaded.empty() ? "no path continues from here" : "prefetched here: " + loaded});
}

namespace {

// How one step of a path reaches the next model.
struct Step {
  enum class Kind { foreign_key, inverse, many_to_many } kind;
  const ModelInfo* target = nullptr;
  std::size_t key_field = 0;    // field of the source model whose value is looked up
  std::size_t match_field = 0;  // field of the target matched against it (not for many_to_many)
  ManyToManyInfo junction{};
  std::string database{};       // foreign keys to another database (to_db)
};

std::string relation_names(const ModelInfo& m) {
  std::vector<std::string> names;
  for (const auto& f : m.fields)
    if (f.foreign_key) names.push_back(f.name);
  for (const auto& r : m.inverse_foreign_keys) names.push_back(r.name);
  for (const auto& r : m.many_to_many) names.push_back(r.name);
  for (const auto& [from, i] : foreign_keys_to(m)) names.push_back(from->table + "." + from->fields[i].name);
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "it has no relations" : "relations: " + out;
}

Step inverse_step(const ModelInfo& m, const ModelInfo& from, const FieldInfo& fk, const std::string& referenced) {
  Step s{.kind = Step::Kind::inverse, .target = &from};
  const FieldInfo& ref = referenced.empty() ? referenced_field(fk, from) : m.field(referenced);
  s.key_field = *m.index_of(ref.name);
  s.match_field = *from.index_of(fk.name);
  return s;
}

Step resolve_step(const ModelInfo& m, const std::string& name) {
  // A foreign key field, by its name or without its "_id".
  for (const std::string& candidate : {name, name + "_id"}) {
    const FieldInfo* f = m.find(candidate);
    if (!f || !f->foreign_key) continue;
    Step s{.kind = Step::Kind::foreign_key, .target = &f->foreign_key->target()};
    s.key_field = *m.index_of(f->name);
    s.match_field = *s.target->index_of(referenced_field(*f, m).name);
    s.database = f->foreign_key->to_db;
    return s;
  }
  for (const auto& r : m.many_to_many)
    if (r.name == name) {
      Step s{.kind = Step::Kind::many_to_many, .target = &ModelRegistry::get(r.target_name)};
      s.junction = resolved(m, r);
      s.key_field = m.primary_keys.at(0);
      return s;
    }
  for (const auto& r : m.inverse_foreign_keys)
    if (r.name == name) {
      const ModelInfo& from = ModelRegistry::get(r.from_model);
      return inverse_step(m, from, from.field(r.from_field), r.referenced_field);
    }
  // "table.field", or a table with exactly one foreign key to m.
  const auto dot = name.find('.');
  const std::string table = name.substr(0, dot);
  std::vector<std::pair<const ModelInfo*, const FieldInfo*>> found;
  for (const auto& [from, i] : foreign_keys_to(m)) {
    const FieldInfo& f = from->fields[i];
    if (from->table == table && (dot == std::string::npos || f.name == name.substr(dot + 1))) found.emplace_back(from, &f);
  }
  if (found.size() == 1) return inverse_step(m, *found[0].first, *found[0].second, {});
  if (found.size() > 1)
    throw QueryError(fmt::format("'{}' is ambiguous on {}: {} has {} foreign keys to it", name, m.name, table, found.size()),
                     ErrorContext{.model = m.name, .hint = "name one as \"" + table + "." + found[0].second->name + "\""});
  throw QueryError(fmt::format("{} has no relation '{}'", m.name, name), ErrorContext{.model = m.name, .hint = relation_names(m)});
}

// The steps of all paths as a tree: the children of a node share their prefix.
struct PathNode {
  std::string name;
  Step step;
  std::vector<PathNode> children;
};

void add_path(std::vector<PathNode>& nodes, const ModelInfo& m, std::string_view path) {
  const auto sep = path.find("__");
  const std::string name(path.substr(0, sep));
  if (name.empty())
    throw QueryError(fmt::format("prefetch path '{}' has an empty relation name", path), ErrorContext{.model = m.name});
  PathNode* node = nullptr;
  for (auto& n : nodes)
    if (n.name == name) node = &n;
  if (!node) {
    nodes.push_back(PathNode{.name = name, .step = resolve_step(m, name), .children = {}});
    node = &nodes.back();
  }
  if (sep != std::string_view::npos) add_path(node->children, *node->step.target, path.substr(sep + 2));
}

// The value of `field` for each row of a level (nullopt for NULL), as parameter bytes.
std::optional<Param> key_of(const PrefetchGraph::Level& level, std::size_t row, std::size_t field) {
  if (!level.roots.empty()) {
    const Param& p = level.roots[row].at(field);
    if (p.null) return std::nullopt;
    return p;
  }
  const int r = static_cast<int>(row), c = static_cast<int>(field);
  if (level.rows.is_null(r, c)) return std::nullopt;
  const pg::RawValue v = level.rows.raw(r, c);
  return Param{.bytes = std::string(v.data), .oid = level.rows.column_type(c), .binary = true};
}

void put_int32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

// A one-dimensional array in PostgreSQL's binary array format, its type left to the server
// (`column = ANY($1)` infers it); the element bytes are the keys' own binary encodings.
Param binary_array(const std::vector<const Param*>& keys, pg::Oid element) {
  Param out{.oid = 0, .binary = true};
  put_int32(out.bytes, 1);  // dimensions
  put_int32(out.bytes, 0);  // no NULLs
  put_int32(out.bytes, element);
  put_int32(out.bytes, static_cast<std::uint32_t>(keys.size()));
  put_int32(out.bytes, 1);  // lower bound
  for (const Param* k : keys) {
    put_int32(out.bytes, static_cast<std::uint32_t>(k->bytes.size()));
    out.bytes += k->bytes;
  }
  return out;
}

asio::awaitable<void> load_level(std::shared_ptr<PrefetchGraph> graph, std::size_t level_index,
                                 const std::vector<PathNode>& nodes) {
  for (const PathNode& node : nodes) {
    const ModelInfo& source = *graph->levels[level_index].model;
    const Step& step = node.step;
    const ModelInfo& target = *step.target;
    PrefetchGraph::Level child{.model = &target};
    PrefetchGraph::Edge edge{.name = node.name};
    edge.rows.resize(graph->levels[level_index].size());
    // Distinct keys of the source rows, and which rows have each.
    std::map<std::string, std::vector<std::size_t>> rows_by_key;
    std::vector<Param> keys;
    for (std::size_t row = 0; row < graph->levels[level_index].size(); ++row) {
      auto key = key_of(graph->levels[level_index], row, step.key_field);
      if (!key) continue;
      auto [it, inserted] = rows_by_key.try_emplace(key->bytes);
      it->second.push_back(row);
      if (inserted) keys.push_back(std::move(*key));
    }
    const bool skip = skip_unfetchable(source, node.name, target);
    if (!keys.empty() && !skip) {
      const pg::Oid element = keys.front().oid;
      const FieldInfo& key_field = source.fields[step.key_field];
      if (element == 0 || !keys.front().binary)
        throw QueryError(fmt::format("prefetch '{}': {}.{} ({}) cannot be sent as a key array", node.name, source.name,
                                     key_field.name, key_field.sql_type),
                         ErrorContext{.model = source.name, .hint = "prefetch by an integer, uuid or text key"});
      if (step.kind != Step::Kind::many_to_many && target.fields[step.match_field].oid != element)
        throw ConfigurationError(
            fmt::format("prefetch '{}': {}.{} ({}) and {}.{} ({}) have different types", node.name, source.name,
                        key_field.name, key_field.sql_type, target.name, target.fields[step.match_field].name,
                        target.fields[step.match_field].sql_type),
            ErrorContext{.model = source.name, .hint = "a foreign key column must have its referenced column's type"});
      std::vector<const Param*> key_ptrs;
      for (const auto& k : keys) key_ptrs.push_back(&k);
      Param array = binary_array(key_ptrs, element);
      int match_column = 0;
      Statement statement;
      if (step.kind == Step::Kind::many_to_many) {
        statement = m2m_select(target, step.junction, std::move(array), true);
        match_column = static_cast<int>(target.fields.size());
      } else {
        SelectSpec spec{.model = &target, .where = query::make_leaf(query::Op::in, step.match_field, {std::move(array)})};
        for (std::size_t pk : target.primary_keys) spec.order.push_back(OrderTerm{.field = pk});
        statement = compile_select(spec);
        match_column = static_cast<int>(step.match_field);
      }
      child.rows = co_await run_statement(target, statement, "prefetch_related", step.database);
      for (int r = 0; r < child.rows.rows(); ++r) {
        if (child.rows.is_null(r, match_column)) continue;
        auto it = rows_by_key.find(std::string(child.rows.raw(r, match_column).data));
        if (it == rows_by_key.end()) continue;
        for (std::size_t parent : it->second) edge.rows[parent].push_back(static_cast<std::size_t>(r));
      }
    }
    edge.child = graph->levels.size();
    graph->levels[level_index].edges.push_back(std::move(edge));
    graph->levels.push_back(std::move(child));
    if (!node.children.empty() && !skip) co_await load_level(graph, graph->levels.size() - 1, node.children);
  }
}

}  // namespace

asio::awaitable<std::shared_ptr<const PrefetchGraph>> load_prefetch(const ModelInfo& model,
                                                                    std::vector<std::vector<Param>> roots,
                                                                    std::vector<std::string> paths) {
  std::vector<PathNode> tree;
  for (const auto& p : paths) add_path(tree, model, p);  // every name checked before a query
  auto graph = std::make_shared<PrefetchGraph>();
  graph->levels.push_back(PrefetchGraph::Level{.model = &model, .roots = std::move(roots)});
  if (!graph->levels[0].roots.empty()) co_await load_level(graph, 0, tree);
  else {
    // No objects: no queries, but every path still answers related() with nothing.
    for (const auto& node : tree) {
      graph->levels[0].edges.push_back(PrefetchGraph::Edge{.name = node.name, .child = graph->levels.size(), .rows = {}});
      graph->levels.push_back(PrefetchGraph::Level{.model = node.step.target});
    }
  }
  co_return graph;
}

}  // namespace matrx::orm::detail

namespace matrx::orm {

std::vector<RelatedObject> RelatedObject::related(std::string_view name) const {
  const auto& edge = graph_->edge(level_, name);
  std::vector<RelatedObject> out;
  if (row_ >= edge.rows.size()) return out;
  for (std::size_t r : edge.rows[row_]) out.emplace_back(graph_, edge.child, r);
  return out;
}

}  // namespace matrx::orm
