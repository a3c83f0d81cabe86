// The SQL compiler: query specs → Statement{sql with $n placeholders, params}. Every
// identifier is quoted, every value a parameter. Pure functions, tested without a server.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
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

/// WITH name AS (…): from a QuerySet's spec, or from SQL text whose own $1…$n refer to
/// `params` (renumbered by a lexer that skips strings, identifiers and comments).
struct Cte {
  std::string name;
  std::shared_ptr<const SelectSpec> query{};
  std::string sql{};
  std::vector<Param> params{};
  bool recursive = false;
};

/// LEFT JOIN target AS alias ON table.field = alias.to_field, selecting every target column
/// after the model's fields (select_related).
struct Join {
  const ModelInfo* target = nullptr;
  std::size_t field = 0;     ///< the foreign key, in the query's model
  std::size_t to_field = 0;  ///< in the target
  std::string alias;
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
  std::vector<query::Annotation> annotations{};  ///< extra SELECT expressions, after the fields
  std::optional<std::vector<std::size_t>> group_by{};  ///< set: SELECT only these + annotations
  query::NodePtr having{};
  std::vector<Cte> ctes{};
  std::vector<Join> joins{};
  /// Subqueries only: the single selected expression (as_subquery), or none for SELECT 1.
  query::ExprPtr projection{};
};

/// SET target = value, or SET target = expression (F("balance") - 100), when `expr` is set.
struct Assignment {
  std::size_t field = 0;
  Param value{};
  query::ExprPtr expr{};
};

/// SELECT agg AS "alias", … FROM table WHERE … (over a subquery when the spec is sliced,
/// distinct or grouped). The expressions are resolved and contain aggregates.
Statement compile_aggregate(const SelectSpec& spec, const std::vector<query::Annotation>& aggregates);

/// The CTE lexer: "$n" outside literals, quoted identifiers, dollar quotes and comments
/// becomes "$(n + offset)"; throws QueryError for a placeholder beyond `count`.
std::string renumber_placeholders(std::string_view sql, std::size_t offset, std::size_t count);

/// Fields in `columns` order (or all), rendered "table"."column".
std::string select_list(const ModelInfo& model, const std::vector<std::size_t>& columns);

Statement compile_select(const SelectSpec& spec);
/// The condition of filter()/exclude(), refused when it tests an aggregate (use having())
/// or a window function (PostgreSQL evaluates those after WHERE). Throws QueryError.
query::NodePtr check_where(const SelectSpec& spec, query::NodePtr node, const char* operation);
/// Refuses to read a grouped query as model objects (its rows are groups). Throws QueryError.
void check_rows_are_objects(const SelectSpec& spec, const char* operation);
/// get()'s SELECT: the spec with LIMIT 2 (enough to tell one row from several), or no LIMIT
/// when the WHERE clause pins a single-column primary key or a unique field by equality.
Statement compile_get(const SelectSpec& spec);
/// SELECT count(*): a subquery when LIMIT, OFFSET or DISTINCT would change the count.
Statement compile_count(const SelectSpec& spec);
Statement compile_exists(const SelectSpec& spec);
/// UPDATE … SET … WHERE … [RETURNING every field]. Throws QueryError on an empty SET, or
/// when the spec has ORDER BY, LIMIT or OFFSET (PostgreSQL's UPDATE has none).
Statement compile_update(const SelectSpec& spec, const std::vector<Assignment>& set, bool returning);
/// DELETE … WHERE …. Same restrictions as compile_update.
Statement compile_delete(const SelectSpec& spec);

}  // namespace matrx::orm
