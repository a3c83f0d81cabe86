// The SQL compiler: query specs → Statement{sql with $n placeholders, params}. Every
// identifier is quoted, every value a parameter. Pure functions, tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/pg/params.hpp"
#include "matrx/orm/query/column.hpp"
#include "matrx/orm/query/expression.hpp"

namespace matrx::orm {

struct Statement {
  std::string sql;
  pg::Params params;
};

enum class RowLock { none, for_update, for_share };

/// pgvector distance operators: cosine <=>, Euclidean <->, negative inner product <#>, L1 <+>.
enum class VectorMetric { cosine, l2, inner_product, l1 };
const char* vector_operator(VectorMetric metric) noexcept;

/// ORDER BY field <op> $n (first), optionally selecting the distance as an extra column.
struct NearestSpec {
  std::size_t field = 0;
  Param vector{};
  VectorMetric metric = VectorMetric::cosine;
  bool select_distance = false;
};

struct SelectSpec {
  const ModelInfo* model = nullptr;
  query::NodePtr where{};               ///< null: no WHERE
  std::vector<std::size_t> columns{};   ///< empty: every field, in declaration order
  std::vector<OrderTerm> order{};
  std::optional<std::int64_t> limit{}, offset{};
  bool distinct = false;
  std::vector<std::size_t> distinct_on{};
  RowLock lock = RowLock::none;
  bool nowait = false, skip_locked = false;
  std::optional<NearestSpec> nearest{};
};

/// SET target = value, or SET target = base <op> value (F expressions).
struct Assignment {
  std::size_t field = 0;
  std::optional<std::size_t> base_field{};  ///< F("balance") - 100: base_field = balance
  char op = '=';                            ///< '+', '-', '*', '/' with a base field
  Param value{};
};

/// An aggregate over the filtered rows: COUNT(*), SUM(field), AVG(DISTINCT field) …
struct AggregateSpec {
  std::string function;                ///< COUNT, SUM, AVG, MIN, MAX, STDDEV, VARIANCE
  std::optional<std::size_t> field{};  ///< none: COUNT(*)
  bool distinct = false;
  std::string alias;                   ///< result key (quoted in SQL)
};
/// SELECT agg AS "alias", … FROM table WHERE … (a subquery when sliced or distinct).
Statement compile_aggregate(const SelectSpec& spec, const std::vector<AggregateSpec>& aggregates);

/// Fields in `columns` order (or all), rendered "table"."column".
std::string select_list(const ModelInfo& model, const std::vector<std::size_t>& columns);

Statement compile_select(const SelectSpec& spec);
/// SELECT count(*): a subquery when LIMIT, OFFSET or DISTINCT would change the count.
Statement compile_count(const SelectSpec& spec);
Statement compile_exists(const SelectSpec& spec);
/// UPDATE … SET … WHERE … [RETURNING every field]. Throws QueryError on an empty SET, or
/// when the spec has ORDER BY, LIMIT or OFFSET (PostgreSQL's UPDATE has none).
Statement compile_update(const SelectSpec& spec, const std::vector<Assignment>& set, bool returning);
/// DELETE … WHERE …. Same restrictions as compile_update.
Statement compile_delete(const SelectSpec& spec);

}  // namespace matrx::orm
