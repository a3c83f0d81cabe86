#include "matrx/orm/query/compiler.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/query/sql_lexer.hpp"

namespace matrx::orm {

namespace {
using query::ExprKind;
using query::Op;

bool needs_wrap(const SelectSpec& s) {
  return s.limit || s.offset || s.distinct || !s.distinct_on.empty() || s.group_by || s.having ||
         std::any_of(s.annotations.begin(), s.annotations.end(),
                     [](const query::Annotation& a) { return query::contains_aggregate(*a.expr); });
}

struct Writer {
  const ModelInfo& model;
  pg::Params& params;
  const Writer* parent = nullptr;
  std::string table{};  ///< how columns are qualified: "schema"."table", or a subquery alias
  int depth = 0;
  std::string sql{};
  bool limit_overridden = false;          ///< compile_get: `limit_override` replaces the spec's LIMIT
  std::optional<std::int64_t> limit_override{};

  bool registered_columns = false;  ///< model.quoted_columns qualify columns as `table` does

  Writer(const ModelInfo& m, pg::Params& p, const Writer* up = nullptr, std::string alias = {})
      : model(m), params(p), parent(up),
        table(!alias.empty() ? std::move(alias) : !m.quoted_table.empty() ? m.quoted_table : m.qualified_table()),
        depth(up ? up->depth + 1 : 0),
        registered_columns(!m.quoted_table.empty() && table == m.quoted_table && m.quoted_columns.size() == m.fields.size()) {
    sql.reserve(512);  // one allocation for a typical statement instead of a dozen regrowths
  }

  std::string column(std::size_t field) const {
    std::string out;
    append_column(out, field);
    return out;
  }
  // The per-query hot path appends in place: no temporaries (measured: building the SQL
  // was a third of the ORM's own CPU per point select).
  void append_column(std::string& out, std::size_t field) const {
    const std::string& name = model.fields.at(field).name;
    if (registered_columns) {
      out += model.quoted_columns[field];
      return;
    }
    out += table;
    out.push_back('.');
    append_quoted_identifier(out, name);
  }
  std::string placeholder() const { return "$" + std::to_string(params.size()); }
  void bind(const Param& p) {
    if (p.null) params.add_null(p.oid);
    else params.add_encoded(p.bytes, p.oid, p.binary);
  }
  std::string param(const Param& p) {
    bind(p);
    return placeholder();
  }
  // Appends "$n" for a newly bound parameter, without a temporary string.
  void append_param(const Param& p) {
    bind(p);
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, params.size()).ptr;
    sql.push_back('$');
    sql.append(digits, end);
  }
  std::string int_param(std::int64_t v) {
    params.add(v);
    return placeholder();
  }

  // ---- expressions --------------------------------------------------------------------------
  std::string list(const std::vector<query::ExprPtr>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + expr(*items[i]);
    return out;
  }
  std::string nested(const SelectSpec& inner, bool select_one) {
    if (!inner.model) throw QueryError("a subquery needs a model");
    Writer w(*inner.model, params, this, quote_identifier(fmt::format("matrx_sq{}", depth + 1)));
    w.select(inner, true, select_one);
    return w.sql;
  }
  std::string expr(const query::Expr& e) {
    switch (e.kind) {
      case ExprKind::field:
        if (!e.field) throw QueryError(fmt::format("field '{}' was not resolved against {}", e.name, model.name));
        return column(*e.field);
      case ExprKind::outer_field: {
        if (!parent)
          throw QueryError(fmt::format("OuterRef(\"{}\") is only meaningful inside a subquery", e.name),
                           ErrorContext{.model = model.name});
        const auto i = parent->model.index_of(e.name);
        if (!i) parent->model.field(e.name);  // throws FieldError naming the outer model's fields
        return parent->column(*i);
      }
      case ExprKind::value: return param(e.param ? *e.param : orm::detail::encode_untyped(*e.literal));
      case ExprKind::star: return "*";
      case ExprKind::call: return e.name + "(" + list(e.args) + ")";
      case ExprKind::aggregate: return e.name + "(" + (e.distinct ? "DISTINCT " : "") + list(e.args) + ")";
      case ExprKind::window: {
        std::string out = expr(*e.args.at(0)) + " OVER (";
        std::string inner;
        if (!e.partition_by.empty()) inner += "PARTITION BY " + list(e.partition_by);
        if (!e.order_by.empty()) {
          inner += inner.empty() ? "ORDER BY " : " ORDER BY ";
          for (std::size_t i = 0; i < e.order_by.size(); ++i)
            inner += (i ? ", " : "") + expr(*e.order_by[i]) + (e.order_descending[i] ? " DESC" : " ASC");
        }
        if (!e.frame.empty()) inner += (inner.empty() ? "" : " ") + e.frame;
        return out + inner + ")";
      }
      case ExprKind::binary:
      case ExprKind::compare: {
        std::string a = expr(*e.args.at(0));
        std::string b = expr(*e.args.at(1));
        return "(" + a + " " + e.name + " " + b + ")";
      }
      case ExprKind::cast: return "CAST(" + expr(*e.args.at(0)) + " AS " + e.name + ")";
      case ExprKind::extract: return "EXTRACT(" + e.name + " FROM " + expr(*e.args.at(0)) + ")";
      case ExprKind::json_text: {
        std::string a = expr(*e.args.at(0));
        return "(" + a + " " + e.name + " " + expr(*e.args.at(1)) + ")";
      }
      case ExprKind::subquery: return "(" + nested(*e.query, false) + ")";
      case ExprKind::exists: return "EXISTS (" + nested(*e.query, true) + ")";
      case ExprKind::cte_column:
        return "(SELECT " + quote_identifier(e.column) + " FROM " + quote_identifier(e.name) + ")";
    }
    return {};
  }

  // ---- conditions ---------------------------------------------------------------------------
  std::string lhs(const query::Node& n) { return n.lhs ? expr(*n.lhs) : column(n.field); }
  void binary(const query::Node& n, const char* op) {
    if (n.lhs) sql += expr(*n.lhs);
    else append_column(sql, n.field);
    sql += op;
    if (n.rhs) sql += expr(*n.rhs);
    else append_param(n.params.at(0));
  }

  void condition(const query::Node& n) {
    switch (n.op) {
      case Op::eq: binary(n, " = "); return;
      case Op::ne: binary(n, " IS DISTINCT FROM "); return;
      case Op::lt: binary(n, " < "); return;
      case Op::lte: binary(n, " <= "); return;
      case Op::gt: binary(n, " > "); return;
      case Op::gte: binary(n, " >= "); return;
      case Op::in:
        if (n.rhs) binary(n, " IN ");
        else sql += lhs(n) + " = ANY(" + param(n.params.at(0)) + ")";
        return;
      case Op::is_null: sql += lhs(n) + " IS NULL"; return;
      case Op::is_not_null: sql += lhs(n) + " IS NOT NULL"; return;
      case Op::like: binary(n, " LIKE "); return;
      case Op::ilike: binary(n, " ILIKE "); return;
      case Op::between:
        sql += lhs(n) + " BETWEEN " + param(n.params.at(0));
        sql += " AND " + param(n.params.at(1));
        return;
      case Op::json_has_key: binary(n, " ? "); return;
      case Op::json_has_any: binary(n, " ?| "); return;
      case Op::json_has_all: binary(n, " ?& "); return;
      case Op::json_contains: binary(n, " @> "); return;
      case Op::json_contained_by: binary(n, " <@ "); return;
      case Op::condition: sql += expr(*n.lhs); return;
      case Op::always_true: sql += "TRUE"; return;
      case Op::always_false: sql += "FALSE"; return;
      case Op::and_:
      case Op::or_: {
        sql += "(";
        for (std::size_t i = 0; i < n.children.size(); ++i) {
          if (i) sql += n.op == Op::and_ ? " AND " : " OR ";
          condition(*n.children[i]);
        }
        sql += ")";
        return;
      }
      case Op::not_:
        sql += "NOT (";
        condition(*n.children.at(0));
        sql += ")";
        return;
    }
  }

  // ---- statements ---------------------------------------------------------------------------
  void ctes(const SelectSpec& s) {
    if (s.ctes.empty()) return;
    const bool recursive = std::any_of(s.ctes.begin(), s.ctes.end(), [](const Cte& c) { return c.recursive; });
    sql += recursive ? "WITH RECURSIVE " : "WITH ";
    for (std::size_t i = 0; i < s.ctes.size(); ++i) {
      const Cte& c = s.ctes[i];
      sql += (i ? ", " : "") + quote_identifier(c.name) + " AS (";
      if (c.query) {
        Writer w(*c.query->model, params);
        w.select(*c.query, false, false);
        sql += w.sql;
      } else {
        const std::size_t offset = params.size();
        sql += renumber_placeholders(c.sql, offset, c.params.size());
        for (const auto& p : c.params) param(p);
      }
      sql += ")";
    }
    sql += " ";
  }
  void where(const SelectSpec& s) {
    if (!s.where) return;
    sql += " WHERE ";
    condition(*s.where);
  }
  std::string nearest_param;  // $n of the probe vector, bound once, used twice
  std::string distance(const NearestSpec& n) {
    if (nearest_param.empty()) nearest_param = param(n.vector);
    return column(n.field) + " " + vector_operator(n.metric) + " " + nearest_param;
  }
  void group_having(const SelectSpec& s) {
    const bool aggregated = std::any_of(s.annotations.begin(), s.annotations.end(),
                                        [](const query::Annotation& a) { return query::contains_aggregate(*a.expr); });
    if (s.group_by) {
      if (!s.group_by->empty()) {
        sql += " GROUP BY ";
        for (std::size_t i = 0; i < s.group_by->size(); ++i) sql += (i ? ", " : "") + column((*s.group_by)[i]);
      }
    } else if (aggregated) {
      // Every field is selected: group by the primary key (the others depend on it).
      sql += " GROUP BY ";
      for (std::size_t i = 0; i < model.primary_keys.size(); ++i) sql += (i ? ", " : "") + column(model.primary_keys[i]);
    }
    if (s.having) {
      sql += " HAVING ";
      condition(*s.having);
    }
  }
  void order_limit(const SelectSpec& s) {
    if (!s.order.empty() || s.nearest) {
      sql += " ORDER BY ";
      if (s.nearest) sql += distance(*s.nearest) + (s.order.empty() ? "" : ", ");
      for (std::size_t i = 0; i < s.order.size(); ++i) {
        if (i) sql += ", ";
        if (s.order[i].alias.empty()) append_column(sql, s.order[i].field);
        else append_quoted_identifier(sql, s.order[i].alias);
        sql += s.order[i].descending ? " DESC" : " ASC";
      }
    }
    if (const auto& limit = limit_overridden ? limit_override : s.limit) sql += " LIMIT " + int_param(*limit);
    if (s.offset) sql += " OFFSET " + int_param(*s.offset);
  }
  void append_from() {
    sql += " FROM ";
    if (model.quoted_table.empty()) sql += model.qualified_table();
    else sql += model.quoted_table;
    if (parent) {
      sql += " AS ";
      sql += table;
    }
  }
  void select(const SelectSpec& s, bool with_lock, bool select_one = false) {
    ctes(s);
    sql += "SELECT ";
    if (!s.distinct_on.empty()) {
      sql += "DISTINCT ON (";
      for (std::size_t i = 0; i < s.distinct_on.size(); ++i) sql += (i ? ", " : "") + column(s.distinct_on[i]);
      sql += ") ";
    } else if (s.distinct) {
      sql += "DISTINCT ";
    }
    if (select_one) {
      sql += "1";
    } else if (s.projection) {
      sql += expr(*s.projection);
    } else {
      const std::size_t list_start = sql.size();
      auto add = [&](std::size_t i) {
        if (sql.size() != list_start) sql += ", ";
        append_column(sql, i);
      };
      if (s.group_by) {
        for (auto i : *s.group_by) add(i);
      } else if (s.columns.empty() && !model.select_all.empty() && table == model.quoted_table) {
        sql += model.select_all;  // the common case, quoted once at registration
      } else if (s.columns.empty()) {
        for (std::size_t i = 0; i < model.fields.size(); ++i) add(i);
      } else {
        for (auto i : s.columns) add(i);
      }
      for (const Join& j : s.joins)
        for (const auto& tf : j.target->fields) sql += ", " + quote_identifier(j.alias) + "." + quote_identifier(tf.name);
      if (s.nearest && s.nearest->select_distance) sql += ", " + distance(*s.nearest) + " AS matrx_distance";
      for (const auto& a : s.annotations) sql += (sql.back() == ' ' ? "" : ", ") + expr(*a.expr) + " AS " + quote_identifier(a.alias);
    }
    append_from();
    for (const Join& j : s.joins)
      sql += " LEFT JOIN " + j.target->qualified_table() + " AS " + quote_identifier(j.alias) + " ON " + column(j.field) +
             " = " + quote_identifier(j.alias) + "." + quote_identifier(j.target->fields.at(j.to_field).name);
    where(s);
    group_having(s);
    order_limit(s);
    if (with_lock && s.lock != RowLock::none) {
      sql += s.lock == RowLock::for_update ? " FOR UPDATE" : " FOR SHARE";
      if (s.nowait) sql += " NOWAIT";
      else if (s.skip_locked) sql += " SKIP LOCKED";
    }
  }
};

const ModelInfo& model_of(const SelectSpec& s) {
  if (!s.model) throw QueryError("a query needs a model");
  return *s.model;
}

void check_plain_write(const SelectSpec& s, const char* what) {
  if (!s.order.empty() || s.limit || s.offset || s.distinct || !s.distinct_on.empty() || s.group_by || s.having)
    throw QueryError(fmt::format("{} cannot be combined with order_by, slicing, distinct or grouping", what),
                     ErrorContext{.model = s.model->name, .operation = what,
                                  .hint = "filter by primary keys instead, e.g. {\"id__in\", ids}"});
}
}  // namespace

const char* vector_operator(VectorMetric metric) noexcept {
  switch (metric) {
    case VectorMetric::cosine: return "<=>";
    case VectorMetric::l2: return "<->";
    case VectorMetric::inner_product: return "<#>";
    case VectorMetric::l1: return "<+>";
  }
  return "<=>";
}

std::string select_list(const ModelInfo& model, const std::vector<std::size_t>& columns) {
  if (columns.empty() && !model.select_all.empty()) return model.select_all;
  std::string out;
  const std::string table = model.qualified_table();
  auto add = [&](std::size_t i) {
    if (!out.empty()) out += ", ";
    out += table;
    out.push_back('.');
    append_quoted_identifier(out, model.fields.at(i).name);
  };
  if (columns.empty())
    for (std::size_t i = 0; i < model.fields.size(); ++i) add(i);
  else
    for (auto i : columns) add(i);
  return out;
}

// The Writer binds straight into the returned Statement's Params (moving a Params copies
// its inline arrays: measured, a tenth of compile_get).
Statement compile_select(const SelectSpec& spec) {
  Statement out;
  Writer w(model_of(spec), out.params);
  w.select(spec, true);
  out.sql = std::move(w.sql);
  return out;
}

namespace {
// True when the WHERE clause (or one of its top-level AND terms) is `field = $n` on a
// single-column primary key or a unique field of the queried model: at most one row matches.
// One column of a composite key pins nothing.
bool pins_unique_row(const query::Node& n, const ModelInfo& model) {
  if (n.op == query::Op::and_)
    return std::any_of(n.children.begin(), n.children.end(), [&](const auto& c) { return c && pins_unique_row(*c, model); });
  if (n.op != query::Op::eq || n.lhs || n.rhs || n.params.size() != 1 || n.field >= model.fields.size()) return false;
  const FieldInfo& f = model.fields[n.field];
  return (f.primary_key && model.primary_keys.size() == 1) || f.unique;
}
}  // namespace

// get() fetches at most two rows, enough to tell one from several. When the WHERE clause pins
// a unique field the LIMIT is left out: it cannot change the result, and the server's Limit
// node costs a point select about a tenth of its server time (measured, W2).
query::NodePtr check_where(const SelectSpec& spec, query::NodePtr node, const char* operation) {
  if (query::contains_aggregate(*node))
    throw QueryError(fmt::format("{}() cannot test an aggregate", operation),
                     ErrorContext{.model = spec.model->name, .operation = operation, .hint = "use having() for conditions on aggregates"});
  if (query::contains_window(*node))
    throw QueryError(fmt::format("{}() cannot test a window function (PostgreSQL evaluates them after WHERE)", operation),
                     ErrorContext{.model = spec.model->name, .operation = operation,
                                  .hint = "filter the annotated rows in C++, or use a subquery"});
  return node;
}

void check_rows_are_objects(const SelectSpec& spec, const char* operation) {
  if (spec.group_by)
    throw QueryError(fmt::format("{}(): a grouped query returns groups, not {} objects", operation, spec.model->name),
                     ErrorContext{.model = spec.model->name, .operation = operation, .hint = "use values()"});
}

Statement compile_get(const SelectSpec& spec) {
  Statement out;
  Writer w(model_of(spec), out.params);
  w.limit_overridden = true;
  if (!(spec.where && spec.joins.empty() && pins_unique_row(*spec.where, w.model))) w.limit_override = 2;
  w.select(spec, true);
  out.sql = std::move(w.sql);
  return out;
}

Statement compile_count(const SelectSpec& spec) {
  pg::Params params;
  Writer w(model_of(spec), params);
  if (needs_wrap(spec)) {
    w.sql += "SELECT count(*) FROM (";
    SelectSpec inner = spec;
    inner.lock = RowLock::none;
    if (inner.nearest) inner.nearest->select_distance = false;
    w.select(inner, false);
    w.sql += ") AS matrx_count";
  } else {
    w.ctes(spec);
    w.sql += "SELECT count(*) FROM " + w.model.qualified_table();
    w.where(spec);
  }
  return Statement{std::move(w.sql), std::move(params)};
}

Statement compile_aggregate(const SelectSpec& spec, const std::vector<query::Annotation>& aggregates) {
  const ModelInfo& m = model_of(spec);
  if (aggregates.empty()) throw QueryError("aggregate() needs at least one aggregate", ErrorContext{.model = m.name});
  for (const auto& a : aggregates)
    if (!query::contains_aggregate(*a.expr))
      throw QueryError(fmt::format("aggregate(): '{}' is not an aggregate (Count, Sum, Avg, Min, Max, StdDev, Variance)", a.alias),
                       ErrorContext{.model = m.name, .operation = "aggregate"});
  pg::Params params;
  const bool wrapped = needs_wrap(spec);
  // Over a wrapped query, the aggregates read the inner query's columns by name.
  Writer w(m, params, nullptr, wrapped ? std::string("matrx_sub") : std::string());
  if (!wrapped) w.ctes(spec);
  w.sql += "SELECT ";
  for (std::size_t i = 0; i < aggregates.size(); ++i)
    w.sql += (i ? ", " : "") + w.expr(*aggregates[i].expr) + " AS " + quote_identifier(aggregates[i].alias);
  if (wrapped) {
    w.sql += " FROM (";
    SelectSpec inner = spec;
    inner.lock = RowLock::none;
    Writer in(m, params);
    in.select(inner, false);
    w.sql += in.sql + ") AS matrx_sub";
  } else {
    w.sql += " FROM " + m.qualified_table();
    w.where(spec);
  }
  return Statement{std::move(w.sql), std::move(params)};
}

Statement compile_exists(const SelectSpec& spec) {
  pg::Params params;
  Writer w(model_of(spec), params);
  w.ctes(spec);
  w.sql += "SELECT EXISTS (SELECT 1 FROM " + w.model.qualified_table();
  w.where(spec);
  SelectSpec rest = spec;
  rest.order.clear();
  rest.nearest.reset();
  w.group_having(rest);
  w.order_limit(rest);
  w.sql += ")";
  return Statement{std::move(w.sql), std::move(params)};
}

Statement compile_update(const SelectSpec& spec, const std::vector<Assignment>& set, bool returning) {
  const ModelInfo& m = model_of(spec);
  check_plain_write(spec, "update");
  if (m.view) throw QueryError(fmt::format("{} is a view: it cannot be written", m.name), ErrorContext{.model = m.name, .operation = "update"});
  if (set.empty()) throw QueryError("update() needs at least one field to set", ErrorContext{.model = m.name, .operation = "update"});
  pg::Params params;
  Writer w(m, params);
  w.ctes(spec);
  w.sql += "UPDATE " + m.qualified_table() + " SET ";
  for (std::size_t i = 0; i < set.size(); ++i) {
    const Assignment& a = set[i];
    if (i) w.sql += ", ";
    w.sql += quote_identifier(m.fields.at(a.field).name) + " = ";
    w.sql += a.expr ? w.expr(*a.expr) : w.param(a.value);
  }
  w.where(spec);
  if (returning) w.sql += " RETURNING " + select_list(m, {});
  return Statement{std::move(w.sql), std::move(params)};
}

Statement compile_delete(const SelectSpec& spec) {
  const ModelInfo& m = model_of(spec);
  check_plain_write(spec, "delete");
  if (m.view) throw QueryError(fmt::format("{} is a view: it cannot be written", m.name), ErrorContext{.model = m.name, .operation = "delete"});
  pg::Params params;
  Writer w(m, params);
  w.ctes(spec);
  w.sql += "DELETE FROM " + m.qualified_table();
  w.where(spec);
  return Statement{std::move(w.sql), std::move(params)};
}

std::string renumber_placeholders(std::string_view sql, std::size_t offset, std::size_t count) {
  std::string out;
  out.reserve(sql.size() + 8);
  sql::scan(sql, [&](bool verbatim, std::string_view text) {
    if (verbatim) {
      out.append(text);
      return;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$' || i + 1 >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        out.push_back(text[i]);
        continue;
      }
      std::size_t j = i + 1, n = 0;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) n = n * 10 + static_cast<std::size_t>(text[j++] - '0');
      if (n == 0 || n > count) throw QueryError(fmt::format("CTE SQL uses ${} but {} parameter(s) were given", n, count));
      out += fmt::format("${}", n + offset);
      i = j - 1;
    }
  });
  return out;
}

}  // namespace matrx::orm
