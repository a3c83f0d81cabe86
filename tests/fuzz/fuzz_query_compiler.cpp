// The query compiler fed random query trees through the string (Django-style) front end
// (RELIABILITY E3/E10). The input is read as a little program: filter/exclude with lookups
// built from real and random field and operator names, Q compositions, order_by names, slices,
// DISTINCT and row locks. Each query either fails with an OrmError before any SQL exists, or
// compiles to SQL that PostgreSQL's own parser (libpg_query) reads as exactly one statement
// whose placeholders are $1…$n for the n parameters it carries.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pg_query.h>

#include "../support/models.hpp"

namespace orm = matrx::orm;
using testmodels::User;

namespace {
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::int64_t number() {
    std::int64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  // A short string straight from the input (field names, operators, values).
  std::string text() {
    const std::size_t n = byte() % 24;
    std::string s;
    for (std::size_t i = 0; i < n && !done(); ++i) s.push_back(static_cast<char>(byte()));
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

const char* const fields[] = {"id", "username", "email", "age", "score", "is_active", "role", "tags", "meta", "created_at"};
const char* const ops[] = {"exact", "iexact", "ne", "gt", "gte", "lt", "lte", "in", "isnull", "contains", "icontains",
                           "startswith", "istartswith", "endswith", "iendswith", "range", "json_has_key",
                           "json_has_any", "json_has_all", "json_contains", "json_contained_by", "json_key", "json_path"};

std::string key(Reader& in) {
  const std::uint8_t how = in.byte();
  std::string k = how & 1 ? in.text() : fields[in.byte() % std::size(fields)];
  if (how & 2) k += "__" + (how & 4 ? in.text() : std::string(ops[in.byte() % std::size(ops)]));
  if (how & 8) k += "__" + in.text();  // a JSON key path, or garbage
  return k;
}

orm::Value value(Reader& in, int depth = 0) {
  switch (in.byte() % 9) {
    case 0: return orm::Value();
    case 1: return orm::Value(static_cast<bool>(in.byte() & 1));
    case 2: return orm::Value(in.number());
    case 3: return orm::Value(static_cast<double>(in.number()) / 7.0);
    case 4: return orm::Value(in.text());
    case 5: {
      orm::Value::List list;
      const int n = depth > 1 ? 0 : in.byte() % 4;
      for (int i = 0; i < n; ++i) list.push_back(value(in, depth + 1));
      return orm::Value(std::move(list));
    }
    case 6: return orm::Value(nlohmann::json{{in.text(), in.number()}});
    case 7: return orm::Value(orm::Bytes(in.text()));
    default: return orm::Value(in.text() + "%_\\");
  }
}

orm::Q condition(Reader& in, int depth = 0) {
  const std::uint8_t how = depth > 3 ? 0 : in.byte() % 5;
  switch (how) {
    case 1: {
      auto a = condition(in, depth + 1);  // sequenced: the input is read left to right
      auto b = condition(in, depth + 1);
      return a && b;
    }
    case 2: {
      auto a = condition(in, depth + 1);
      auto b = condition(in, depth + 1);
      return a || b;
    }
    case 3: return !condition(in, depth + 1);
    default: {
      auto k = key(in);
      return orm::Q(std::move(k), value(in));
    }
  }
}

void collect_params(const nlohmann::json& node, std::set<long>& numbers) {
  if (node.is_object()) {
    if (auto it = node.find("ParamRef"); it != node.end()) numbers.insert(it->value("number", 0L));
    for (const auto& [k, v] : node.items()) collect_params(v, numbers);
  } else if (node.is_array()) {
    for (const auto& v : node) collect_params(v, numbers);
  }
}

void check(const orm::Statement& s) {
  PgQueryParseResult parsed = pg_query_parse(s.sql.c_str());
  if (parsed.error) {
    const std::string message = parsed.error->message;
    pg_query_free_parse_result(parsed);
    std::fprintf(stderr, "does not parse (%s): %s\n", message.c_str(), s.sql.c_str());
    std::abort();
  }
  // Values are parameters and names come from the model, so the SQL is always UTF-8; bytes
  // of the input pasted into it would show up here as JSON that does not parse.
  const auto tree = nlohmann::json::parse(parsed.parse_tree, nullptr, false);
  pg_query_free_parse_result(parsed);
  if (tree.is_discarded()) {
    std::fprintf(stderr, "input bytes reached the SQL: %s\n", s.sql.c_str());
    std::abort();
  }
  if (tree.at("stmts").size() != 1) {
    std::fprintf(stderr, "not one statement: %s\n", s.sql.c_str());
    std::abort();
  }
  std::set<long> numbers;
  collect_params(tree, numbers);
  const auto n = static_cast<long>(s.params.size());
  if (static_cast<long>(numbers.size()) != n || (n > 0 && (*numbers.begin() != 1 || *numbers.rbegin() != n))) {
    std::fprintf(stderr, "placeholders do not match %ld parameters: %s\n", n, s.sql.c_str());
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(data, size);
  auto qs = orm::objects<User>();
  try {
    while (!in.done()) {
      switch (in.byte() % 10) {
        case 0: { auto k = key(in); qs = qs.filter(std::move(k), value(in)); break; }
        case 1: { auto k = key(in); qs = qs.exclude(std::move(k), value(in)); break; }
        case 2: qs = qs.filter(condition(in)); break;
        case 3: qs = qs.exclude(condition(in)); break;
        case 4: {
          const std::uint8_t how = in.byte();
          std::string name = how & 1 ? in.text() : fields[in.byte() % std::size(fields)];
          if (how & 2) name = "-" + name;
          qs = qs.order_by(name);
          break;
        }
        case 5: qs = qs.limit(in.number()); break;
        case 6: qs = qs.offset(in.number()); break;
        case 7: qs = qs.distinct(); break;
        case 8: qs = qs.select_for_update(in.byte() & 1, in.byte() & 2); break;
        default: { auto k = key(in); qs = qs.filter(orm::Q(std::move(k), value(in)) || orm::Q("id", in.number())); break; }
      }
    }
  } catch (const orm::OrmError&) {
    return 0;  // refused before any SQL: the promise for bad names and values
  }
  try {
    check(qs.sql());
  } catch (const orm::OrmError&) {
  }
  return 0;
}
