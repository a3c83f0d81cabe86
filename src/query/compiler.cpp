#include "matrx/orm/query/compiler.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm {

namespace {
using query::Op;

struct Writer {
  const ModelInfo& model;
  std::string sql;
  pg::Params params;

  std::string column(std::size_t field) const {
    return model.qualified_table() + "." + quote_identifier(model.fields.at(field).name);
  }
  std::string param(const Param& p) {
    if (p.null) params.add_null(p.oid);
    else params.add_encoded(p.bytes, p.oid, p.binary);
    return fmt::format("${}", params.size());
  }
  std::string int_param(std::int64_t v) {
    params.add(v);
    return fmt::format("${}", params.size());
  }

  void condition(const query::Node& n) {
    switch (n.op) {
      case Op::eq: sql += column(n.field) + " = " + param(n.params.at(0)); return;
      case Op::ne: sql += column(n.field) + " IS DISTINCT FROM " + param(n.params.at(0)); return;
      case Op::lt: sql += column(n.field) + " < " + param(n.params.at(0)); return;
      case Op::lte: sql += column(n.field) + " <= " + param(n.params.at(0)); return;
      case Op::gt: sql += column(n.field) + " > " + param(n.params.at(0)); return;
      case Op::gte: sql += column(n.field) + " >= " + param(n.params.at(0)); return;
      case Op::in: sql += column(n.field) + " = ANY(" + param(n.params.at(0)) + ")"; return;
      case Op::is_null: sql += column(n.field) + " IS NULL"; return;
      case Op::is_not_null: sql += column(n.field) + " IS NOT NULL"; return;
      case Op::like: sql += column(n.field) + " LIKE " + param(n.params.at(0)); return;
      case Op::ilike: sql += column(n.field) + " ILIKE " + param(n.params.at(0)); return;
      case Op::between:
        sql += column(n.field) + " BETWEEN " + param(n.params.at(0));
        sql += " AND " + param(n.params.at(1));
        return;
      case Op::json_has_key: sql += column(n.field) + " ? " + param(n.params.at(0)); return;
      case Op::json_has_any: sql += column(n.field) + " ?| " + param(n.params.at(0)); return;
      case Op::json_has_all: sql += column(n.field) + " ?& " + param(n.params.at(0)); return;
      case Op::json_contains: sql += column(n.field) + " @> " + param(n.params.at(0)); return;
      case Op::json_contained_by: sql += column(n.field) + " <@ " + param(n.params.at(0)); return;
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
  void order_limit(const SelectSpec& s) {
    if (!s.order.empty() || s.nearest) {
      sql += " ORDER BY ";
      if (s.nearest) sql += distance(*s.nearest) + (s.order.empty() ? "" : ", ");
      for (std::size_t i = 0; i < s.order.size(); ++i) {
        if (i) sql += ", ";
        sql += column(s.order[i].field) + (s.order[i].descending ? " DESC" : " ASC");
      }
    }
    if (s.limit) sql += " LIMIT " + int_param(*s.limit);
    if (s.offset) sql += " OFFSET " + int_param(*s.offset);
  }
  void select(const SelectSpec& s, bool with_lock) {
    sql += "SELECT ";
    if (!s.distinct_on.empty()) {
      sql += "DISTINCT ON (";
      for (std::size_t i = 0; i < s.distinct_on.size(); ++i) sql += (i ? ", " : "") + column(s.distinct_on[i]);
      sql += ") ";
    } else if (s.distinct) {
      sql += "DISTINCT ";
    }
    sql += select_list(model, s.columns);
    if (s.nearest && s.nearest->select_distance) sql += ", " + distance(*s.nearest) + " AS matrx_distance";
    sql += " FROM " + model.qualified_table();
    where(s);
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
  if (!s.order.empty() || s.limit || s.offset || s.distinct || !s.distinct_on.empty())
    throw QueryError(fmt::format("{} cannot be combined with order_by, slicing or distinct", what),
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
  std::string out;
  const std::string table = model.qualified_table();
  auto add = [&](std::size_t i) {
    if (!out.empty()) out += ", ";
    out += table + "." + quote_identifier(model.fields.at(i).name);
  };
  if (columns.empty())
    for (std::size_t i = 0; i < model.fields.size(); ++i) add(i);
  else
    for (auto i : columns) add(i);
  return out;
}

Statement compile_select(const SelectSpec& spec) {
  Writer w{model_of(spec), {}, {}};
  w.select(spec, true);
  return Statement{std::move(w.sql), std::move(w.params)};
}

Statement compile_count(const SelectSpec& spec) {
  Writer w{model_of(spec), {}, {}};
  if (spec.limit || spec.offset || spec.distinct || !spec.distinct_on.empty()) {
    w.sql += "SELECT count(*) FROM (";
    SelectSpec inner = spec;
    inner.lock = RowLock::none;
    if (inner.nearest) inner.nearest->select_distance = false;
    w.select(inner, false);
    w.sql += ") AS matrx_count";
  } else {
    w.sql += "SELECT count(*) FROM " + w.model.qualified_table();
    w.where(spec);
  }
  return Statement{std::move(w.sql), std::move(w.params)};
}

Statement compile_aggregate(const SelectSpec& spec, const std::vector<AggregateSpec>& aggregates) {
  const ModelInfo& m = model_of(spec);
  if (aggregates.empty()) throw QueryError("aggregate() needs at least one aggregate", ErrorContext{.model = m.name});
  Writer w{m, {}, {}};
  const bool sliced = spec.limit || spec.offset || spec.distinct || !spec.distinct_on.empty();
  // Over a slice, aggregate the inner query's columns by name.
  auto argument = [&](const AggregateSpec& a) -> std::string {
    if (!a.field) return "*";
    const std::string col = sliced ? "matrx_sub." + quote_identifier(m.fields.at(*a.field).name) : w.column(*a.field);
    return (a.distinct ? "DISTINCT " : "") + col;
  };
  w.sql += "SELECT ";
  for (std::size_t i = 0; i < aggregates.size(); ++i) {
    const auto& a = aggregates[i];
    static constexpr std::string_view allowed[] = {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "VARIANCE"};
    if (std::find(std::begin(allowed), std::end(allowed), a.function) == std::end(allowed))
      throw QueryError(fmt::format("unknown aggregate function '{}'", a.function), ErrorContext{.model = m.name});
    w.sql += (i ? ", " : "") + a.function + "(" + argument(a) + ") AS " + quote_identifier(a.alias);
  }
  if (sliced) {
    w.sql += " FROM (";
    SelectSpec inner = spec;
    inner.lock = RowLock::none;
    w.select(inner, false);
    w.sql += ") AS matrx_sub";
  } else {
    w.sql += " FROM " + m.qualified_table();
    w.where(spec);
  }
  return Statement{std::move(w.sql), std::move(w.params)};
}

Statement compile_exists(const SelectSpec& spec) {
  Writer w{model_of(spec), {}, {}};
  w.sql += "SELECT EXISTS (SELECT 1 FROM " + w.model.qualified_table();
  w.where(spec);
  SelectSpec rest = spec;
  rest.order.clear();
  rest.nearest.reset();
  w.order_limit(rest);
  w.sql += ")";
  return Statement{std::move(w.sql), std::move(w.params)};
}

Statement compile_update(const SelectSpec& spec, const std::vector<Assignment>& set, bool returning) {
  const ModelInfo& m = model_of(spec);
  check_plain_write(spec, "update");
  if (set.empty()) throw QueryError("update() needs at least one field to set", ErrorContext{.model = m.name, .operation = "update"});
  Writer w{m, {}, {}};
  w.sql += "UPDATE " + m.qualified_table() + " SET ";
  for (std::size_t i = 0; i < set.size(); ++i) {
    const Assignment& a = set[i];
    if (i) w.sql += ", ";
    w.sql += quote_identifier(m.fields.at(a.field).name) + " = ";
    if (a.base_field) w.sql += w.column(*a.base_field) + " " + a.op + " ";
    w.sql += w.param(a.value);
  }
  w.where(spec);
  if (returning) w.sql += " RETURNING " + select_list(m, {});
  return Statement{std::move(w.sql), std::move(w.params)};
}

Statement compile_delete(const SelectSpec& spec) {
  const ModelInfo& m = model_of(spec);
  check_plain_write(spec, "delete");
  Writer w{m, {}, {}};
  w.sql += "DELETE FROM " + m.qualified_table();
  w.where(spec);
  return Statement{std::move(w.sql), std::move(w.params)};
}

}  // namespace matrx::orm
