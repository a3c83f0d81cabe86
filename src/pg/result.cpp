#include "matrx/orm/pg/result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

#include <boost/core/demangle.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::pg {

Result::Result(pg_result* result)
    : result_(result, &PQclear), rows_(result ? PQntuples(result) : 0), columns_(result ? PQnfields(result) : 0) {}

void Result::check_position(int row, int column) const {
  if (column < 0 || column >= columns())
    throw FieldError(fmt::format("column index {} is out of range (the result has {} columns)", column, columns()));
  if (row < 0 || row >= rows())
    throw QueryError(fmt::format("row index {} is out of range (the result has {} rows)", row, rows()));
}

std::string_view Result::column_name(int column) const {
  if (column < 0 || column >= columns())
    throw FieldError(fmt::format("column index {} is out of range (the result has {} columns)", column, columns()));
  return PQfname(result_.get(), column);
}

std::optional<int> Result::find_column(std::string_view name) const noexcept {
  for (int c = 0, n = columns(); c < n; ++c)
    if (name == PQfname(result_.get(), c)) return c;
  return std::nullopt;
}

int Result::column_index(std::string_view name) const {
  if (auto c = find_column(name)) return *c;
  std::string available;
  for (int c = 0, n = columns(); c < n; ++c) available += fmt::format("{}{}", c ? ", " : "", PQfname(result_.get(), c));
  throw FieldError(fmt::format("the result has no column named \"{}\"", name),
                   ErrorContext{.hint = fmt::format("columns: {}", available)});
}

Oid Result::column_type(int column) const { column_name(column); return PQftype(result_.get(), column); }
Format Result::column_format(int column) const {
  column_name(column);
  return PQfformat(result_.get(), column) == 1 ? Format::binary : Format::text;
}

bool Result::is_null(int row, int column) const {
  check_position(row, column);
  return PQgetisnull(result_.get(), row, column) == 1;
}

RawValue Result::raw(int row, int column) const {
  check_position(row, column);
  PGresult* r = result_.get();
  return RawValue{std::string_view(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))),
                  PQgetisnull(r, row, column) == 1, PQftype(r, column),
                  PQfformat(r, column) == 1 ? Format::binary : Format::text};
}

std::string_view Result::command_tag() const noexcept { return result_ ? PQcmdStatus(result_.get()) : ""; }

std::int64_t Result::affected_rows() const noexcept {
  if (!result_) return 0;
  const char* t = PQcmdTuples(result_.get());
  std::int64_t n = 0;
  std::from_chars(t, t + std::strlen(t), n);
  return n;
}

void Result::throw_null(int row, int column, std::string_view cpp_type) const {
  throw ParameterError(fmt::format("column \"{}\" of row {} is NULL and cannot be read as {}", column_name(column), row,
                                   boost::core::demangle(std::string(cpp_type).c_str())),
                       ErrorContext{.column = std::string(column_name(column)),
                                    .hint = "read nullable columns as std::optional<T>"});
}

void Result::throw_type(int row, int column, std::string_view cpp_type) const {
  throw ParameterError(fmt::format("column \"{}\" ({}) of row {} cannot be read as {}", column_name(column),
                                   describe_type(column_type(column)), row,
                                   boost::core::demangle(std::string(cpp_type).c_str())),
                       ErrorContext{.column = std::string(column_name(column)), .hint = "see docs/types.md for the type mapping"});
}

void Result::rethrow_with_column(int row, int column) const {
  try {
    throw;
  } catch (const ParameterError& e) {
    ErrorContext ctx = e.context();
    ctx.column = std::string(column_name(column));
    throw ParameterError(fmt::format("column \"{}\" of row {}: {}", column_name(column), row, e.message()), std::move(ctx));
  }
}

}  // namespace matrx::orm::pg
