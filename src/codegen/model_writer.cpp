// The model-header generator (`matrx-orm inspect --out`). Everything here is string building
// over migrate::SchemaDef: the catalog was read once, by the migrate layer.
#include "matrx/orm/codegen/model_writer.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/field_info.hpp"

namespace matrx::orm::codegen {

namespace mg = migrate;

// ---- names ----------------------------------------------------------------------------------

namespace {
const std::set<std::string, std::less<>>& cpp_keywords() {
  static const std::set<std::string, std::less<>> words{
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
      "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
      "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
      "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
      // names the generated code itself uses in the models' namespace
      "orm", "std", "matrx"};
  return words;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_') || static_cast<unsigned char>(c) >= 0x80) return false;
  // Names with a double underscore or a leading underscore and capital are the implementation's.
  if (s.find("__") != std::string_view::npos || (s.size() > 1 && s[0] == '_' && std::isupper(static_cast<unsigned char>(s[1]))))
    return false;
  return !cpp_keywords().count(s);
}

// Words of a SQL name: runs of ASCII letters and digits (others separate words; non-ASCII
// bytes become 'x' so that the name stays unique-ish and ASCII).
std::vector<std::string> words_of(std::string_view name) {
  std::vector<std::string> words{""};
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) {
      if ((c & 0xC0) != 0x80) words.back().push_back('x');  // one letter per UTF-8 character
    } else if (std::isalnum(c)) {
      // "camelCase" → camel, case
      if (std::isupper(c) && !words.back().empty() && std::islower(static_cast<unsigned char>(words.back().back())))
        words.emplace_back();
      words.back().push_back(static_cast<char>(std::tolower(c)));
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

std::string cpp_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}\"\"", static_cast<unsigned char>(c));
        else out.push_back(c);
    }
  }
  return out + "\"";
}

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + cpp_string(items[i]);
  return out + "}";
}

// PostgreSQL's quote_ident for the names format_type prints: plain lowercase names bare.
std::string sql_ident(std::string_view name) {
  bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) plain = false;
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// How format_type spells a type in `schema` (public is on the search path).
std::string spelled_type(const std::string& schema, const std::string& name) {
  return schema == "public" ? sql_ident(name) : sql_ident(schema) + "." + sql_ident(name);
}

std::string default_constraint_name(const std::string& table, const std::vector<std::string>& columns, const char* suffix) {
  std::string name = table;
  for (const auto& c : columns) name += "_" + c;
  return name + "_" + suffix;
}
}  // namespace

std::string type_name(std::string_view sql_name) {
  std::string out;
  for (auto w : words_of(sql_name)) {
    w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    out += w;
  }
  if (out.empty()) out = "Unnamed";
  if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "T" + out;
  if (!is_identifier(out)) out += "_";
  return out;
}

std::string member_name(std::string_view column) {
  if (is_identifier(column)) return std::string(column);
  std::string out;
  for (const auto& w : words_of(column)) out += (out.empty() ? "" : "_") + w;
  if (out.empty()) out = "column";
  if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "c" + out;
  if (!is_identifier(out)) out += "_";
  return out;
}

// ---- the generator --------------------------------------------------------------------------

namespace {

// A column's C++ side: the member's type and the field options its SQL type needs.
struct Mapped {
  std::string cpp{};                   // "std::int32_t", "std::vector<std::string>"
  std::vector<std::string> options{};  // "orm::max_length(50)", …
  std::string natural{};               // the SQL type the C++ type and options give
  bool text_results = false;
  std::vector<std::string> includes{};  // standard headers the type needs
};

struct Generator {
  const mg::SchemaDef& schema;
  const CodegenOptions& options;
  std::vector<std::string> notes{};
  std::map<std::string, const mg::TableDef*> tables{};    // "schema.table" → table
  std::map<std::string, std::string> model_of{};          // "schema.table" → C++ type (written)
  std::map<std::string, std::string> header_of{};         // "schema.table" → header file
  std::map<std::string, const mg::EnumDef*> enums{};      // spelled type → enum
  std::map<std::string, std::string> enum_class{};        // spelled type → C++ enum (when one can be)
  std::map<std::string, const mg::DomainDef*> domains{};  // spelled type → domain

  std::string id(const std::string& s, const std::string& t) const { return s + "." + t; }

  bool stub(const std::string& schema_name) const {
    return std::find(options.stub_schemas.begin(), options.stub_schemas.end(), schema_name) != options.stub_schemas.end();
  }
  bool owned(const std::string& schema_name) const {
    return !stub(schema_name) && (options.schemas.empty() || std::find(options.schemas.begin(), options.schemas.end(),
                                                                       schema_name) != options.schemas.end());
  }
  bool written(const std::string& schema_name, const std::string& table) const {
    return options.filter.matches(schema_name, table) && (owned(schema_name) || stub(schema_name));
  }

  // A stub of a table someone else owns: its key and the columns references use.
  mg::TableDef stub_of(const mg::TableDef& t) const {
    std::set<std::string> keep(t.primary_key.begin(), t.primary_key.end());
    for (const auto& [_, other] : tables)
      for (const auto& f : other->foreign_keys)
        if (f.ref_schema == t.schema && f.ref_table == t.name) keep.insert(f.ref_columns.begin(), f.ref_columns.end());
    mg::TableDef s{.schema = t.schema, .name = t.name, .primary_key = t.primary_key};
    for (const auto& c : t.columns)
      if (keep.count(c.name)) {
        mg::ColumnDef column{.name = c.name, .type = c.type, .nullable = c.nullable};
        s.columns.push_back(column);
      }
    return s;
  }

  Mapped map_type(const std::string& type) const {
    if (type.size() > 2 && type.ends_with("[]")) {
      // Any array may hold NULL elements: optional elements read every value there is.
      Mapped element = map_type(type.substr(0, type.size() - 2));
      element.cpp = "std::vector<std::optional<" + element.cpp + ">>";
      element.includes.push_back("<optional>");
      element.natural += "[]";
      element.includes.push_back("<vector>");
      return element;
    }
    if (auto d = domains.find(type); d != domains.end()) {
      Mapped base = map_type(d->second->type);
      base.natural = "-";  // a domain is always named
      return base;
    }
    if (auto e = enums.find(type); e != enums.end()) {
      Mapped m{.natural = "-"};
      if (auto c = enum_class.find(type); c != enum_class.end()) {
        m.cpp = c->second;
        if (snake_case(c->second) != e->second->name) m.options.push_back("orm::enum_type(" + cpp_string(e->second->name) + ")");
      } else {  // labels that are not C++ names: a string limited to them
        m.cpp = "std::string";
        m.includes.push_back("<string>");
        m.options.push_back("orm::enum_type(" + cpp_string(e->second->name) + ")");
        m.options.push_back("orm::choices(" + string_list(e->second->labels) + ")");
      }
      return m;
    }
    std::string base = type, args;
    if (const auto open = type.find('('); open != std::string::npos && type.back() == ')') {
      base = type.substr(0, open);
      args = type.substr(open + 1, type.size() - open - 2);
    }
    static const std::map<std::string, std::pair<const char*, const char*>, std::less<>> plain{
        {"boolean", {"bool", nullptr}},
        {"smallint", {"std::int16_t", "<cstdint>"}},
        {"integer", {"std::int32_t", "<cstdint>"}},
        {"bigint", {"std::int64_t", "<cstdint>"}},
        {"real", {"float", nullptr}},
        {"double precision", {"double", nullptr}},
        {"numeric", {"orm::Numeric", nullptr}},
        {"money", {"orm::Money", nullptr}},
        {"text", {"std::string", "<string>"}},
        {"character varying", {"std::string", "<string>"}},
        {"character", {"std::string", "<string>"}},
        {"citext", {"std::string", "<string>"}},
        {"name", {"std::string", "<string>"}},
        {"bytea", {"orm::Bytes", nullptr}},
        {"uuid", {"orm::Uuid", nullptr}},
        {"timestamp with time zone", {"orm::Timestamp", nullptr}},
        {"timestamp without time zone", {"orm::LocalTimestamp", nullptr}},
        {"date", {"orm::Date", nullptr}},
        {"time without time zone", {"orm::TimeOfDay", nullptr}},
        {"interval", {"orm::Interval", nullptr}},
        {"json", {"nlohmann::json", nullptr}},
        {"jsonb", {"nlohmann::json", nullptr}},
        {"inet", {"orm::Inet", nullptr}},
        {"cidr", {"orm::Cidr", nullptr}},
        {"macaddr", {"orm::MacAddr", nullptr}},
        {"point", {"orm::Point", nullptr}},
        {"hstore", {"orm::Hstore", nullptr}},
        {"vector", {"orm::Vector", nullptr}},
    };
    static const std::map<std::string, std::string, std::less<>> natural_of{
        {"std::string", "text"}, {"nlohmann::json", "jsonb"}};
    Mapped m;
    // "timestamp(3) with time zone": a precision that is not the default stays in column_type.
    std::string lookup = base;
    for (const char* zone : {" with time zone", " without time zone"})
      if (const auto p = type.find('('); p != std::string::npos && type.ends_with(zone))
        lookup = type.substr(0, p) + zone;
    if (auto it = plain.find(lookup); it != plain.end()) {
      m.cpp = it->second.first;
      if (it->second.second) m.includes.push_back(it->second.second);
      m.natural = natural_of.count(m.cpp) ? natural_of.at(m.cpp) : lookup;
      if (lookup == "json") m.options.push_back("orm::plain_json"), m.natural = "json";
      if (lookup == "character varying" && !args.empty()) {
        m.options.push_back("orm::max_length(" + args + ")");
        m.natural = type;
      } else if (lookup == "numeric" && !args.empty()) {
        const auto comma = args.find(',');
        m.options.push_back(comma == std::string::npos ? "orm::precision(" + args + ")"
                                                       : "orm::precision(" + args.substr(0, comma) + ", " +
                                                             args.substr(comma + 1) + ")");
        m.natural = "numeric(" + args + (comma == std::string::npos ? ",0" : "") + ")";
      } else if (lookup == "vector" && !args.empty()) {
        m.options.push_back("orm::dimensions(" + args + ")");
        m.natural = type;
      }
      return m;
    }
    // No codec of its own (tsvector, ranges, composite types, bit strings, xml, …): its
    // text form in a string.
    m.cpp = "std::string";
    m.includes.push_back("<string>");
    m.natural = "-";
    m.text_results = true;
    return m;
  }

  // ---- pieces of C++ ----

  std::string index_key(const IndexKey& k) const {
    std::vector<std::string> parts;
    if (!k.column.empty()) parts.push_back(".column = " + cpp_string(k.column));
    if (!k.expression.empty()) parts.push_back(".expression = " + cpp_string(k.expression));
    if (!k.collation.empty()) parts.push_back(".collation = " + cpp_string(k.collation));
    if (!k.opclass.empty()) parts.push_back(".opclass = " + cpp_string(k.opclass));
    if (k.descending) parts.push_back(".descending = true");
    if (k.nulls_first) parts.push_back(std::string(".nulls_first = ") + (*k.nulls_first ? "true" : "false"));
    std::string out = "{";
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out + "}";
  }
  std::string keys(const std::vector<IndexKey>& ks) const {
    std::string out = "{";
    for (std::size_t i = 0; i < ks.size(); ++i) out += (i ? ", " : "") + index_key(ks[i]);
    return out + "}";
  }
  static bool plain_keys(const mg::IndexDef& i) { return !i.plain_columns().empty(); }

  // orm::IndexInfo (a model's .index) — fields in declaration order.
  std::string index_info(const mg::IndexDef& i) const {
    std::vector<std::string> parts{".name = " + cpp_string(i.name)};
    if (plain_keys(i)) parts.push_back(".columns = " + string_list(i.plain_columns()));
    if (i.unique) parts.push_back(".unique = true");
    if (i.method != "btree") parts.push_back(".method = " + cpp_string(i.method));
    if (!i.where.empty()) parts.push_back(".where = " + cpp_string(i.where));
    if (!plain_keys(i)) parts.push_back(".keys = " + keys(i.keys));
    if (!i.include.empty()) parts.push_back(".include = " + string_list(i.include));
    if (!i.with.empty()) parts.push_back(".with = " + cpp_string(i.with));
    if (i.nulls_not_distinct) parts.push_back(".nulls_not_distinct = true");
    std::string out = "{";
    for (std::size_t k = 0; k < parts.size(); ++k) out += (k ? ", " : "") + parts[k];
    return out + "}";
  }
  // migrate::IndexDef (a partition's index) — fields in declaration order.
  std::string index_def(const mg::IndexDef& i) const {
    std::vector<std::string> parts{".name = " + cpp_string(i.name), ".keys = " + keys(i.keys)};
    if (!i.include.empty()) parts.push_back(".include = " + string_list(i.include));
    if (i.unique) parts.push_back(".unique = true");
    if (i.nulls_not_distinct) parts.push_back(".nulls_not_distinct = true");
    if (i.method != "btree") parts.push_back(".method = " + cpp_string(i.method));
    if (!i.with.empty()) parts.push_back(".with = " + cpp_string(i.with));
    if (!i.where.empty()) parts.push_back(".where = " + cpp_string(i.where));
    std::string out = "{";
    for (std::size_t k = 0; k < parts.size(); ++k) out += (k ? ", " : "") + parts[k];
    return out + "}";
  }
  std::string fk_constraint(const mg::ForeignKeyDef& f, bool model_level) const {
    std::vector<std::string> parts{".name = " + cpp_string(f.name), ".columns = " + string_list(f.columns)};
    if (model_level || f.ref_schema != "public") parts.push_back(".ref_schema = " + cpp_string(f.ref_schema));
    parts.push_back(".ref_table = " + cpp_string(f.ref_table));
    parts.push_back(".ref_columns = " + string_list(f.ref_columns));
    if (f.on_delete != "NO ACTION") parts.push_back(".on_delete = " + cpp_string(f.on_delete));
    if (f.on_update != "NO ACTION") parts.push_back(".on_update = " + cpp_string(f.on_update));
    if (f.match_full) parts.push_back(".match_full = true");
    if (f.deferrable) parts.push_back(".deferrable = true");
    if (f.initially_deferred) parts.push_back(".initially_deferred = true");
    if (f.not_valid) parts.push_back(".not_valid = true");
    std::string out = "{";
    for (std::size_t k = 0; k < parts.size(); ++k) out += (k ? ", " : "") + parts[k];
    return out + "}";
  }
  std::string unique_info(const mg::UniqueDef& u) const {
    std::string out = "{.name = " + cpp_string(u.name) + ", .columns = " + string_list(u.columns);
    if (u.nulls_not_distinct) out += ", .nulls_not_distinct = true";
    if (u.deferrable) out += ", .deferrable = true";
    if (u.initially_deferred) out += ", .initially_deferred = true";
    return out + "}";
  }

  // ---- analysis ----

  // Single-column foreign keys a field can carry (orm::references<T>()): the target has a
  // written model and the column types match as the ORM checks them.
  bool field_level(const mg::TableDef& t, const mg::ForeignKeyDef& f) const {
    if (f.columns.size() != 1) return false;
    if (!model_of.count(id(f.ref_schema, f.ref_table))) return false;
    const mg::TableDef* target = tables.at(id(f.ref_schema, f.ref_table));
    const mg::ColumnDef* from = t.column(f.columns[0]);
    const mg::ColumnDef* to = target->column(f.ref_columns[0]);
    if (!from || !to) return false;
    const auto integer = [](const std::string& x) { return x == "smallint" || x == "integer" || x == "bigint"; };
    const bool unique_target = (target->primary_key == f.ref_columns) ||
                               std::any_of(target->uniques.begin(), target->uniques.end(),
                                           [&](const mg::UniqueDef& u) { return u.columns == f.ref_columns; });
    return unique_target && (from->type == to->type || (integer(from->type) && integer(to->type)));
  }

  // Models in dependency order (a referenced model's header first); the edges that would
  // close a cycle are left to references by name.
  std::vector<const mg::TableDef*> order_models(const std::vector<const mg::TableDef*>& models,
                                                std::set<std::pair<std::string, std::string>>& by_name) const {
    std::vector<const mg::TableDef*> out;
    std::set<std::string> done, visiting;
    std::function<void(const mg::TableDef*)> visit = [&](const mg::TableDef* t) {
      const std::string me = t->id();
      if (done.count(me)) return;
      visiting.insert(me);
      for (const auto& f : t->foreign_keys) {
        if (!field_level(*t, f)) continue;
        const std::string target = id(f.ref_schema, f.ref_table);
        if (target == me || visiting.count(target)) {
          by_name.insert({me, target});
          continue;
        }
        auto it = std::find_if(models.begin(), models.end(), [&](const mg::TableDef* m) { return m->id() == target; });
        if (it != models.end()) visit(*it);
      }
      visiting.erase(me);
      done.insert(me);
      out.push_back(t);
    };
    for (const auto* t : models) visit(t);
    return out;
  }

  // ---- files ----

  std::string header_comment(const std::string& what) const {
    return fmt::format("// Generated by `{}` from {}.\n// Regenerate rather than edit: the next run rewrites this file.\n",
                       options.command.empty() ? "matrx-orm inspect" : options.command, what);
  }

  std::string schema_header() const {
    std::string out = header_comment("the database's types, sequences and partitions");
    out += "#pragma once\n\n#include <cstdint>\n\n#include <boost/describe/enum.hpp>\n\n#include <matrx/orm/migrate/declare.hpp>\n\n";
    out += "namespace " + options.name_space + " {\n\n";
    for (const auto& e : schema.enums) {
      const std::string spelled = spelled_type(e.schema, e.name);
      auto c = enum_class.find(spelled);
      if (!owned(e.schema)) continue;
      if (c == enum_class.end()) continue;
      out += fmt::format("/// {}.{}\nenum class {} {{ ", e.schema, e.name, c->second);
      for (std::size_t i = 0; i < e.labels.size(); ++i) out += (i ? ", " : "") + e.labels[i];
      out += " };\nBOOST_DESCRIBE_ENUM(" + c->second;
      for (const auto& l : e.labels) out += ", " + l;
      out += ")\n\n";
    }
    out += "/// What no single model owns; makemigrations creates it with the tables.\n";
    out += "inline const bool schema_declared = ::matrx::orm::migrate::declare(\n    {";
    std::vector<std::string> parts;
    std::vector<std::string> schemas;
    for (const auto& name : schema.schemas)
      if (owned(name)) schemas.push_back(name);
    // Only what the owned schemas hold is declared (a stub schema's types are its owner's).
    const auto mine = [&](const auto& list) {
      std::remove_cvref_t<decltype(list)> out;
      for (const auto& x : list)
        if (owned(x.schema)) out.push_back(x);
      return out;
    };
    const auto enums_owned = mine(schema.enums);
    const auto composites_owned = mine(schema.composite_types);
    const auto domains_owned = mine(schema.domains);
    auto sequences_owned = mine(schema.sequences);
    std::erase_if(sequences_owned, [&](const mg::SequenceDef& q) {
      return !q.owned_by_table.empty() && !written(q.schema, q.owned_by_table);
    });
    if (!schemas.empty()) parts.push_back(".schemas = " + string_list(schemas));
    if (!schema.extensions.empty()) {
      std::string s = ".extensions = {";
      for (std::size_t i = 0; i < schema.extensions.size(); ++i)
        s += (i ? ", " : "") + fmt::format("{{.name = {}, .schema = {}}}", cpp_string(schema.extensions[i].name),
                                           cpp_string(schema.extensions[i].schema));
      parts.push_back(s + "}");
    }
    if (!enums_owned.empty()) {
      std::string s = ".enums = {";
      for (std::size_t i = 0; i < enums_owned.size(); ++i)
        s += (i ? ",\n               " : "") +
             fmt::format("{{.schema = {}, .name = {}, .labels = {}}}", cpp_string(enums_owned[i].schema),
                         cpp_string(enums_owned[i].name), string_list(enums_owned[i].labels));
      parts.push_back(s + "}");
    }
    if (!composites_owned.empty()) {
      std::string s = ".composite_types = {";
      for (std::size_t i = 0; i < composites_owned.size(); ++i) {
        const auto& c = composites_owned[i];
        std::string attributes;
        for (std::size_t k = 0; k < c.attributes.size(); ++k) {
          const auto& a = c.attributes[k];
          attributes += (k ? ", " : "") + fmt::format("{{.name = {}, .type = {}", cpp_string(a.name), cpp_string(a.type)) +
                        (a.collation.empty() ? "" : ", .collation = " + cpp_string(a.collation)) + "}";
        }
        s += (i ? ",\n                         " : "") +
             fmt::format("{{.schema = {}, .name = {}, .attributes = {{{}}}}}", cpp_string(c.schema), cpp_string(c.name),
                         attributes);
      }
      parts.push_back(s + "}");
    }
    if (!domains_owned.empty()) {
      std::string s = ".domains = {";
      for (std::size_t i = 0; i < domains_owned.size(); ++i) {
        const auto& d = domains_owned[i];
        std::string item = fmt::format("{{.schema = {}, .name = {}, .type = {}", cpp_string(d.schema), cpp_string(d.name),
                                       cpp_string(d.type));
        if (d.not_null) item += ", .not_null = true";
        if (!d.default_sql.empty()) item += ", .default_sql = " + cpp_string(d.default_sql);
        if (!d.collation.empty()) item += ", .collation = " + cpp_string(d.collation);
        if (!d.checks.empty()) {
          item += ", .checks = {";
          for (std::size_t k = 0; k < d.checks.size(); ++k)
            item += (k ? ", " : "") + fmt::format("{{{}, {}}}", cpp_string(d.checks[k].name), cpp_string(d.checks[k].expression));
          item += "}";
        }
        s += (i ? ",\n                 " : "") + item + "}";
      }
      parts.push_back(s + "}");
    }
    if (!sequences_owned.empty()) {
      std::string s = ".sequences = {";
      for (std::size_t i = 0; i < sequences_owned.size(); ++i) {
        const auto& q = sequences_owned[i];
        std::string item = fmt::format(
            "{{.schema = {}, .name = {}, .type = {}, .start = {}, .increment = {}, .min_value = {}, .max_value = {}, "
            ".cache = {}",
            cpp_string(q.schema), cpp_string(q.name), cpp_string(q.type), q.start, q.increment,
            q.min_value == INT64_MIN ? "INT64_MIN" : std::to_string(q.min_value), q.max_value, q.cache);
        if (q.cycle) item += ", .cycle = true";
        if (!q.owned_by_table.empty())
          item += ", .owned_by_table = " + cpp_string(q.owned_by_table) + ", .owned_by_column = " + cpp_string(q.owned_by_column);
        s += (i ? ",\n                   " : "") + item + "}";
      }
      parts.push_back(s + "}");
    }
    std::vector<std::string> partitions;
    for (const auto& t : schema.tables) {
      if (!t.is_partition() || !written(t.schema, t.name) || !owned(t.schema)) continue;
      const mg::TableDef* parent = tables.at(id(t.parent_schema, t.parent_table));
      std::string item = fmt::format("{{.schema = {}, .name = {}", cpp_string(t.schema), cpp_string(t.name));
      std::string columns;
      for (const auto& c : t.columns) {
        const mg::ColumnDef* p = parent->column(c.name);
        if (p && p->default_sql == c.default_sql && p->nullable == c.nullable) continue;
        columns += (columns.empty() ? "" : ", ") +
                   fmt::format("{{.name = {}, .nullable = {}", cpp_string(c.name), c.nullable ? "true" : "false") +
                   (c.default_sql.empty() ? "" : ", .default_sql = " + cpp_string(c.default_sql)) + "}";
      }
      if (!columns.empty()) item += ", .columns = {" + columns + "}";
      if (!t.primary_key.empty())
        item += ", .primary_key = " + string_list(t.primary_key) + ", .primary_key_name = " + cpp_string(t.primary_key_name);
      if (!t.uniques.empty()) {
        item += ", .uniques = {";
        for (std::size_t k = 0; k < t.uniques.size(); ++k) {
          const auto& u = t.uniques[k];
          item += (k ? ", " : "") + fmt::format("{{.name = {}, .columns = {}", cpp_string(u.name), string_list(u.columns)) +
                  (u.nulls_not_distinct ? ", .nulls_not_distinct = true" : "") + (u.deferrable ? ", .deferrable = true" : "") +
                  (u.initially_deferred ? ", .initially_deferred = true" : "") + "}";
        }
        item += "}";
      }
      if (!t.foreign_keys.empty()) {
        item += ", .foreign_keys = {";
        for (std::size_t k = 0; k < t.foreign_keys.size(); ++k) item += (k ? ", " : "") + fk_constraint(t.foreign_keys[k], true);
        item += "}";
      }
      if (!t.checks.empty()) {
        item += ", .checks = {";
        for (std::size_t k = 0; k < t.checks.size(); ++k)
          item += (k ? ", " : "") + fmt::format("{{{}, {}}}", cpp_string(t.checks[k].name), cpp_string(t.checks[k].expression));
        item += "}";
      }
      if (!t.exclusions.empty()) {
        item += ", .exclusions = {";
        for (std::size_t k = 0; k < t.exclusions.size(); ++k)
          item += (k ? ", " : "") +
                  fmt::format("{{{}, {}}}", cpp_string(t.exclusions[k].name), cpp_string(t.exclusions[k].definition));
        item += "}";
      }
      if (!t.indexes.empty()) {
        item += ", .indexes = {";
        for (std::size_t k = 0; k < t.indexes.size(); ++k) item += (k ? ", " : "") + index_def(t.indexes[k]);
        item += "}";
      }
      if (!t.partition_by.empty()) item += ", .partition_by = " + cpp_string(t.partition_by);
      item += ", .parent_schema = " + cpp_string(t.parent_schema) + ", .parent_table = " + cpp_string(t.parent_table) +
              ", .partition_bound = " + cpp_string(t.partition_bound);
      if (!t.comment.empty()) item += ", .comment = " + cpp_string(t.comment);
      partitions.push_back(item + "}");
    }
    if (!partitions.empty()) {
      std::string s = ".tables = {  // partitions: their columns are their table's, but for what differs\n         ";
      for (std::size_t i = 0; i < partitions.size(); ++i) s += (i ? ",\n         " : "") + partitions[i];
      parts.push_back(s + "}");
    }
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ",\n     " : "") + parts[i];
    out += "}";
    if (!options.database.empty()) out += ",\n    " + cpp_string(options.database);
    out += ");\n\n}  // namespace " + options.name_space + "\n";
    return out;
  }

  // Relations a model declares for others' foreign keys to it: inverse foreign keys and,
  // through junction tables, many-to-many.
  struct Relation {
    std::string kind;    // "ifk" or "m2m"
    std::string name;    // the relation's name
    std::string target;  // "schema.table" of the other model
  };
  struct Relations {
    std::vector<std::string> options;
    std::vector<Relation> list;
  };

  bool is_junction(const mg::TableDef& t) const {
    if (t.foreign_keys.size() != 2 || t.is_partition() || !t.partition_by.empty()) return false;
    std::vector<std::string> pair;
    for (const auto& f : t.foreign_keys) {
      if (f.columns.size() != 1 || !model_of.count(id(f.ref_schema, f.ref_table))) return false;
      pair.push_back(f.columns[0]);
    }
    const auto same = [&](const std::vector<std::string>& cols) {
      return cols.size() == 2 && std::is_permutation(cols.begin(), cols.end(), pair.begin());
    };
    bool keyed = same(t.primary_key);
    for (const auto& u : t.uniques) keyed = keyed || same(u.columns);
    for (const auto& i : t.indexes) keyed = keyed || (i.unique && i.where.empty() && same(i.plain_columns()));
    if (!keyed) return false;
    for (const auto& [_, other] : tables)  // nothing references a junction
      for (const auto& f : other->foreign_keys)
        if (f.ref_schema == t.schema && f.ref_table == t.name) return false;
    return true;
  }

  std::map<std::string, Relations> relations(const std::vector<const mg::TableDef*>& models) const {
    std::map<std::string, Relations> out;
    std::map<std::string, std::set<std::string>> used;  // model → relation names and field names
    for (const auto* t : models)
      for (const auto& c : t->columns) used[t->id()].insert(member_name(c.name));
    const auto unique_name = [&](const std::string& model, std::string name) {
      while (used[model].count(name)) name += "_set";
      used[model].insert(name);
      return name;
    };
    for (const auto* t : models) {
      if (!model_of.count(t->id())) continue;
      std::map<std::string, int> to_same_target;
      for (const auto& f : t->foreign_keys)
        if (field_level(*t, f)) ++to_same_target[id(f.ref_schema, f.ref_table)];
      for (const auto& f : t->foreign_keys) {
        if (!field_level(*t, f)) continue;
        const std::string target = id(f.ref_schema, f.ref_table);
        std::string name = member_name(t->name);
        if (to_same_target[target] > 1) name += "_by_" + member_name(f.columns[0]);
        name = unique_name(target, name);
        out[target].options.push_back(fmt::format(".inverse_foreign_key({}, {}, {})", cpp_string(name),
                                                  cpp_string(model_of.at(t->id())), cpp_string(f.columns[0])));
        out[target].list.push_back({"ifk", name, t->id()});
      }
      if (!is_junction(*t)) continue;
      for (int side = 0; side < 2; ++side) {
        const auto& from = t->foreign_keys[side];
        const auto& to = t->foreign_keys[1 - side];
        const std::string source = id(from.ref_schema, from.ref_table), target = id(to.ref_schema, to.ref_table);
        std::string name = unique_name(source, member_name(to.ref_table == from.ref_table ? to.columns[0] : to.ref_table));
        out[source].options.push_back(fmt::format(".many_to_many({}, {}, {}, {}, {})", cpp_string(name), cpp_string(t->name),
                                                  cpp_string(from.columns[0]), cpp_string(to.columns[0]),
                                                  cpp_string(model_of.at(target))));
        out[source].list.push_back({"m2m", name, target});
      }
    }
    return out;
  }

  std::string model_header(const mg::TableDef* t, const mg::ViewDef* v, const std::vector<std::string>& options_extra,
                            const std::set<std::pair<std::string, std::string>>& by_name) {
    const std::string table_id = t ? t->id() : v->schema + "." + v->name;
    const std::string type = model_of.at(table_id);
    const std::vector<mg::ColumnDef>& columns = t ? t->columns : v->columns;
    std::set<std::string> includes{"<matrx/orm.hpp>"}, local_includes{"\"schema.hpp\""};
    std::string members, fields;
    std::vector<std::string> model_options;
    const std::string schema_name = t ? t->schema : v->schema, name = t ? t->name : v->name;
    model_options.push_back("orm::table(" + cpp_string(name) + ")");
    if (schema_name != "public") model_options.push_back(".schema(" + cpp_string(schema_name) + ")");
    if (!options.database.empty()) model_options.push_back(".database(" + cpp_string(options.database) + ")");
    if (v) model_options.push_back(".view()");
    if (t && stub(t->schema)) model_options.push_back(".unfetchable()  // a stub: owned elsewhere, never migrated");
    const bool key_in_field_order = t && [&] {
      std::vector<std::string> in_order;
      for (const auto& c : columns)
        if (std::find(t->primary_key.begin(), t->primary_key.end(), c.name) != t->primary_key.end()) in_order.push_back(c.name);
      return in_order == t->primary_key;
    }();
    if (t && t->primary_key.empty()) model_options.push_back(".without_primary_key()");
    if (t && !t->primary_key.empty() && !key_in_field_order)
      model_options.push_back(".primary_key(" + string_list(t->primary_key) + ")");
    if (t && !t->primary_key_name.empty() && (t->primary_key_name != t->name + "_pkey" || t->primary_key_name.size() > 63))
      model_options.push_back(".primary_key_name(" + cpp_string(t->primary_key_name) + ")");
    if (t && !t->partition_by.empty()) model_options.push_back(".partition_by(" + cpp_string(t->partition_by) + ")");
    const std::string comment = t ? t->comment : v->comment;
    if (!comment.empty()) model_options.push_back(".comment(" + cpp_string(comment) + ")");

    std::set<std::string> field_unique;  // single-column unique constraints a field carries
    if (t)
      for (const auto& u : t->uniques) {
        if (u.columns.size() == 1 && !u.nulls_not_distinct && !u.deferrable &&
            u.name == default_constraint_name(t->name, u.columns, "key") && u.name.size() <= 63)
          field_unique.insert(u.columns[0]);
        else
          model_options.push_back(".unique(" + unique_info(u) + ")");
      }
    if (t)
      for (const auto& c : t->checks) model_options.push_back(".check(" + cpp_string(c.name) + ", " + cpp_string(c.expression) + ")");
    if (t)
      for (const auto& x : t->exclusions)
        model_options.push_back(".exclusion(" + cpp_string(x.name) + ", " + cpp_string(x.definition) + ")");
    std::map<std::string, const mg::ForeignKeyDef*> field_fk;
    if (t)
      for (const auto& f : t->foreign_keys) {
        if (field_level(*t, f)) field_fk[f.columns[0]] = &f;
        else model_options.push_back(".foreign_key(" + fk_constraint(f, true) + ")");
      }
    for (const auto& i : t ? t->indexes : v->indexes) model_options.push_back(".index(" + index_info(i) + ")");
    for (const auto& o : options_extra) model_options.push_back(o);

    for (const auto& c : columns) {
      const std::string member = member_name(c.name);
      Mapped m = map_type(c.type);
      for (const auto& inc : m.includes) includes.insert(inc);
      const bool key = t && std::find(t->primary_key.begin(), t->primary_key.end(), c.name) != t->primary_key.end();
      const bool optional = c.nullable && !key;
      if (optional) includes.insert("<optional>");
      members += fmt::format("  {} {}{{}};\n", optional ? "std::optional<" + m.cpp + ">" : m.cpp, member);
      std::vector<std::string> opts;
      if (member != c.name) opts.push_back("orm::column(" + cpp_string(c.name) + ")");
      if (key && key_in_field_order) opts.push_back("orm::primary_key");
      if (c.identity) {
        opts.push_back(c.identity_always ? "orm::identity_always" : "orm::identity");
        if (!c.identity_options.empty()) opts.push_back("orm::identity_options(" + cpp_string(c.identity_options) + ")");
      }
      if (!c.default_sql.empty()) opts.push_back("orm::db_default(" + cpp_string(c.default_sql) + ")");
      if (!c.generated.empty()) opts.push_back("orm::generated(" + cpp_string(c.generated) + ")");
      for (const auto& o : m.options) opts.push_back(o);
      if (m.natural != c.type) opts.push_back("orm::column_type(" + cpp_string(c.type) + ")");
      if (m.text_results) opts.push_back("orm::text_results");
      if (!c.collation.empty()) opts.push_back("orm::collate(" + cpp_string(c.collation) + ")");
      if (!c.comment.empty()) opts.push_back("orm::comment(" + cpp_string(c.comment) + ")");
      if (field_unique.count(c.name)) opts.push_back("orm::unique");
      if (auto fk = field_fk.find(c.name); fk != field_fk.end()) {
        const mg::ForeignKeyDef& f = *fk->second;
        const std::string target_id = id(f.ref_schema, f.ref_table);
        const std::string target = model_of.at(target_id);
        std::string ref;
        if (by_name.count({table_id, target_id})) {
          ref = "orm::references(" + cpp_string(target) + ")";
        } else {
          ref = "orm::references<" + target + ">()";
          local_includes.insert("\"" + header_of.at(target_id) + "\"");
        }
        const mg::TableDef* target_table = tables.at(target_id);
        if (target_table->primary_key != f.ref_columns) ref += ".to_field(" + cpp_string(f.ref_columns[0]) + ")";
        if (f.on_delete != "NO ACTION") ref += ".on_delete(" + cpp_string(f.on_delete) + ")";
        if (f.on_update != "NO ACTION") ref += ".on_update(" + cpp_string(f.on_update) + ")";
        if (f.name != default_constraint_name(t->name, f.columns, "fkey") || f.name.size() > 63)
          ref += ".name(" + cpp_string(f.name) + ")";
        if (f.match_full) ref += ".match_full()";
        if (f.deferrable) ref += f.initially_deferred ? ".deferrable(true)" : ".deferrable()";
        if (f.not_valid) ref += ".not_valid()";
        opts.push_back(ref);
      }
      std::string entry = "(" + member;
      for (const auto& o : opts) entry += ", " + o;
      fields += ",\n            " + entry + ")";
    }
    if (columns.size() > 63)
      throw MigrationError(fmt::format("{} has {} columns; MATRX_MODEL takes at most 63", table_id, columns.size()),
                           ErrorContext{.operation = "inspect", .hint = "leave the table out with --exclude-tables"});

    std::string out = header_comment((v ? (v->materialized ? "materialized view " : "view ") : "table ") + table_id);
    out += "#pragma once\n\n";
    for (const auto& inc : includes)
      if (inc != "<matrx/orm.hpp>") out += "#include " + inc + "\n";
    out += "\n#include <matrx/orm.hpp>\n\n";
    for (const auto& inc : local_includes) out += "#include " + inc + "\n";
    out += "\nnamespace " + options.name_space + " {\n\nnamespace orm = ::matrx::orm;\n\n";
    out += "struct " + type + " {\n" + members + "};\n";
    out += "MATRX_MODEL(" + type + ", ";
    for (std::size_t i = 0; i < model_options.size(); ++i) out += (i ? "\n                " : "") + model_options[i];
    out += fields + ")\n\n}  // namespace " + options.name_space + "\n";
    return out;
  }

  // <table>_manager.hpp: typed helpers over BaseManager. Every helper calls a base method or
  // a relation function of another name, so none can recurse into itself.
  std::string manager_header(const mg::TableDef& t, const std::vector<Relation>& rels) const {
    const std::string type = model_of.at(t.id());
    std::set<std::string> includes{"\"" + header_of.at(t.id()) + "\""};
    std::set<std::string> used;  // method names
    std::string methods;
    const auto method = [&](std::string name) {
      while (used.count(name)) name += "_";
      used.insert(name);
      return name;
    };
    std::set<std::string> fk_columns;
    for (const auto& f : t.foreign_keys)
      if (field_level(t, f)) fk_columns.insert(f.columns[0]);
    for (const auto& c : t.columns) {
      const bool key = std::find(t.primary_key.begin(), t.primary_key.end(), c.name) != t.primary_key.end();
      const bool is_enum = enums.count(c.type) > 0;
      if (key && t.primary_key.size() == 1) continue;  // load_by_id does it
      if (!fk_columns.count(c.name) && !is_enum) continue;
      const Mapped m = map_type(c.type);
      const std::string member = member_name(c.name);
      methods += fmt::format(
          "  /// The {0} rows whose {1} is `value`.\n"
          "  boost::asio::awaitable<std::vector<{0}>> {2}({3} value) {{\n"
          "    return load_items(orm::Q({4}, std::move(value)));\n"
          "  }}\n",
          type, c.name, method("load_by_" + member), m.cpp, cpp_string(c.name));
    }
    for (const auto& f : t.foreign_keys) {
      if (!field_level(t, f)) continue;
      const std::string target = id(f.ref_schema, f.ref_table);
      includes.insert("\"" + header_of.at(target) + "\"");
      std::string name = member_name(f.columns[0]);
      if (name.size() > 3 && name.ends_with("_id")) name.resize(name.size() - 3);
      methods += fmt::format(
          "  /// The {0} that `item.{1}` refers to (nothing when it is NULL).\n"
          "  boost::asio::awaitable<std::optional<{0}>> {2}(const {3}& item) {{\n"
          "    return orm::fetch_fk<{0}>(item, {4});\n"
          "  }}\n",
          model_of.at(target), member_name(f.columns[0]), method("fetch_" + name), type, cpp_string(f.columns[0]));
    }
    for (const auto& r : rels) {
      includes.insert("\"" + header_of.at(r.target) + "\"");
      methods += fmt::format(
          "  /// {0}\n"
          "  boost::asio::awaitable<std::vector<{1}>> {2}(const {3}& item) {{\n"
          "    return orm::{4}<{1}>(item, {5});\n"
          "  }}\n",
          r.kind == "m2m" ? "The " + model_of.at(r.target) + " rows related through the junction table."
                          : "The " + model_of.at(r.target) + " rows that refer to `item`.",
          model_of.at(r.target), method("fetch_" + r.name), type, r.kind == "m2m" ? "fetch_m2m" : "fetch_ifk",
          cpp_string(r.name));
    }
    std::string out = header_comment("table " + t.id() + " (its manager)");
    out += "#pragma once\n\n#include <optional>\n#include <utility>\n#include <vector>\n\n#include <matrx/orm.hpp>\n\n";
    for (const auto& inc : includes) out += "#include " + inc + "\n";
    out += "\nnamespace " + options.name_space + " {\n\nnamespace orm = ::matrx::orm;\n\n";
    out += "/// " + type + "'s manager: BaseManager's operations and typed helpers. Subclass it to add\n"
           "/// business logic (override on_load to prepare every loaded item).\n";
    out += "class " + type + "Manager : public orm::BaseManager<" + type + "> {\n public:\n" + methods + "};\n\n}  // namespace " +
           options.name_space + "\n";
    return out;
  }

  GeneratedModels run() {
    for (const auto& t : schema.tables) tables[t.id()] = &t;
    for (const auto& e : schema.enums) enums[spelled_type(e.schema, e.name)] = &e;
    for (const auto& d : schema.domains) domains[spelled_type(d.schema, d.name)] = &d;
    std::set<std::string> taken_types;
    const auto unique_type = [&](std::string name) {
      std::string candidate = name;
      for (int n = 2; taken_types.count(candidate); ++n) candidate = name + std::to_string(n);
      taken_types.insert(candidate);
      return candidate;
    };
    for (const auto& e : schema.enums) {
      const bool names_ok = std::all_of(e.labels.begin(), e.labels.end(), [](const std::string& l) { return is_identifier(l); }) &&
                            std::set<std::string>(e.labels.begin(), e.labels.end()).size() == e.labels.size();
      if (names_ok) enum_class[spelled_type(e.schema, e.name)] = unique_type(type_name(e.schema == "public" ? e.name : e.schema + "_" + e.name));
      else
        notes.push_back(fmt::format("enum {}.{}: labels that are not C++ names; its columns are std::string limited to "
                                    "the labels", e.schema, e.name));
    }
    std::vector<const mg::TableDef*> models;
    for (const auto& t : schema.tables) {
      if (t.is_partition() || !written(t.schema, t.name)) continue;
      model_of[t.id()] = unique_type(type_name(t.schema == "public" ? t.name : t.schema + "_" + t.name));
      models.push_back(&t);
    }
    for (const auto& v : schema.views)
      if (written(v.schema, v.name) && owned(v.schema))
        model_of[v.schema + "." + v.name] = unique_type(type_name(v.schema == "public" ? v.name : v.schema + "_" + v.name));
    const auto file_of = [](const std::string& schema_name, const std::string& name) {
      return (schema_name == "public" ? member_name(name) : member_name(schema_name) + "_" + member_name(name)) + ".hpp";
    };
    for (const auto& [key, type] : model_of) {
      const auto dot = key.find('.');
      header_of[key] = file_of(key.substr(0, dot), key.substr(dot + 1));
    }
    std::set<std::pair<std::string, std::string>> by_name;
    const auto ordered = order_models(models, by_name);
    const auto rel = relations(models);

    GeneratedModels out;
    out.files.push_back({"schema.hpp", schema_header()});
    std::vector<mg::TableDef> stubs;
    stubs.reserve(ordered.size());
    for (const auto* t : ordered) {
      if (stub(t->schema)) {
        stubs.push_back(stub_of(*t));
        out.files.push_back({header_of.at(t->id()), model_header(&stubs.back(), nullptr, {}, by_name)});
        continue;
      }
      auto it = rel.find(t->id());
      out.files.push_back({header_of.at(t->id()),
                           model_header(t, nullptr, it == rel.end() ? std::vector<std::string>{} : it->second.options, by_name)});
    }
    for (const auto& v : schema.views)
      if (written(v.schema, v.name) && owned(v.schema))
        out.files.push_back({header_of.at(v.schema + "." + v.name), model_header(nullptr, &v, {}, by_name)});
    if (options.managers)
      for (const auto* t : ordered) {
        if (t->primary_key.empty() || stub(t->schema)) continue;  // BaseManager works by primary key
        auto it = rel.find(t->id());
        std::string file = header_of.at(t->id());
        file.insert(file.size() - 4, "_manager");
        out.files.push_back({file, manager_header(*t, it == rel.end() ? std::vector<Relation>{} : it->second.list)});
      }
    for (const auto& u : schema.unsupported) notes.push_back("not generated (outside the schema model): " + u);
    std::string umbrella = header_comment("the whole schema") + "#pragma once\n\n";
    for (const auto& f : out.files) umbrella += "#include \"" + f.name + "\"\n";
    out.files.push_back({options.umbrella, umbrella});
    out.notes = std::move(notes);
    return out;
  }
};

// A line diff for --dry-run: the longest common subsequence of lines, printed as -/+ lines
// with two lines of context (files are small: quadratic is fine).
std::string line_diff(const std::string& name, const std::string& before, const std::string& after) {
  const auto split = [](const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  const auto a = split(before), b = split(after);
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (std::size_t i = a.size(); i-- > 0;)
    for (std::size_t j = b.size(); j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::string out = "--- " + name + "\n+++ " + name + "\n";
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i, ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "+" + b[j++] + "\n";
    } else {
      out += "-" + a[i++] + "\n";
    }
  }
  return out;
}
}  // namespace

GeneratedModels generate_models(const mg::SchemaDef& schema, const CodegenOptions& options) {
  options.filter.validate();
  if (!is_identifier(options.name_space))
    throw ConfigurationError(fmt::format("'{}' is not a C++ namespace name", options.name_space));
  return Generator{.schema = schema, .options = options}.run();
}

WriteResult write_files(const std::filesystem::path& dir, const std::vector<GeneratedFile>& files, bool dry_run) {
  WriteResult result;
  for (const auto& f : files) {
    const auto path = dir / f.name;
    std::string current;
    bool exists = false;
    if (std::ifstream in(path, std::ios::binary); in) {
      std::ostringstream text;
      text << in.rdbuf();
      current = text.str();
      exists = true;
    }
    if (exists && current == f.content) {
      result.unchanged.push_back(f.name);
      continue;
    }
    result.written.push_back(f.name);
    if (dry_run) {
      result.diff += line_diff(f.name, current, f.content);
      continue;
    }
    std::filesystem::create_directories(dir);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!(out << f.content)) throw ConfigurationError(fmt::format("cannot write {}", path.string()));
  }
  return result;
}

}  // namespace matrx::orm::codegen
