// Result: the outcome of one statement — rows with typed access by column index or name,
// the command tag and the affected-row count. Cheap to copy (shared, immutable).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "matrx/orm/pg/codec.hpp"

struct pg_result;  // libpq's PGresult

namespace matrx::orm::pg {

struct RawValue {
  std::string_view data;
  bool is_null;
  Oid type;
  Format format;
};

class Row;

class Result {
 public:
  Result() = default;
  /// Takes ownership of a libpq result.
  explicit Result(pg_result* result);

  int rows() const noexcept { return rows_; }
  int columns() const noexcept { return columns_; }
  bool empty() const noexcept { return rows() == 0; }

  std::string_view column_name(int column) const;
  /// Index of the column with exactly this name; throws FieldError when there is none.
  int column_index(std::string_view name) const;
  std::optional<int> find_column(std::string_view name) const noexcept;
  Oid column_type(int column) const;
  Format column_format(int column) const;

  bool is_null(int row, int column) const;
  RawValue raw(int row, int column) const;

  /// Typed read. std::optional<T> reads NULL as nullopt; a plain T throws ParameterError on
  /// NULL, on a column type T cannot hold, and on a value out of T's range.
  template <class T>
  T get(int row, int column) const;
  template <class T>
  T get(int row, std::string_view column) const { return get<T>(row, column_index(column)); }

  /// "INSERT 0 1", "UPDATE 3", "SELECT 2" …
  std::string_view command_tag() const noexcept;
  /// Rows inserted, updated, deleted, selected, moved, fetched or copied; 0 when the
  /// command reports none.
  std::int64_t affected_rows() const noexcept;

  Row operator[](int row) const;
  class iterator;
  iterator begin() const;
  iterator end() const;

  pg_result* native() const noexcept { return result_.get(); }

 private:
  [[noreturn]] void throw_null(int row, int column, std::string_view cpp_type) const;
  [[noreturn]] void throw_type(int row, int column, std::string_view cpp_type) const;
  [[noreturn]] void rethrow_with_column(int row, int column) const;
  void check_position(int row, int column) const;

  std::shared_ptr<pg_result> result_;
  // Read once: every typed read checks its position against them (libpq calls cost more).
  int rows_ = 0;
  int columns_ = 0;
};

class Row {
 public:
  Row(const Result* result, int index) : result_(result), index_(index) {}
  template <class T> T get(int column) const { return result_->get<T>(index_, column); }
  template <class T> T get(std::string_view column) const { return result_->get<T>(index_, column); }
  bool is_null(int column) const { return result_->is_null(index_, column); }
  int index() const noexcept { return index_; }
  int size() const noexcept { return result_->columns(); }

 private:
  const Result* result_;
  int index_;
};

class Result::iterator {
 public:
  using value_type = Row;
  using difference_type = std::ptrdiff_t;
  iterator(const Result* r, int i) : result_(r), index_(i) {}
  Row operator*() const { return Row(result_, index_); }
  iterator& operator++() { ++index_; return *this; }
  iterator operator++(int) { auto c = *this; ++index_; return c; }
  bool operator==(const iterator& o) const noexcept { return index_ == o.index_; }

 private:
  const Result* result_;
  int index_;
};

inline Row Result::operator[](int row) const { return Row(this, row); }
inline Result::iterator Result::begin() const { return iterator(this, 0); }
inline Result::iterator Result::end() const { return iterator(this, rows()); }

template <class T>
T Result::get(int row, int column) const {
  if constexpr (detail::is_optional<T>::value) {
    if (is_null(row, column)) return std::nullopt;
    return get<typename T::value_type>(row, column);
  } else {
    static_assert(HasCodec<T>, "no matrx::orm::pg::Codec for this type (see docs/types.md)");
    const RawValue v = raw(row, column);
    if (v.is_null) throw_null(row, column, typeid(T).name());
    // In text format every value is a string; elsewhere the column type must fit T.
    constexpr bool any_text = std::is_same_v<T, std::string>;
    if (!(any_text && v.format == Format::text) && !Codec<T>::accepts(v.type)) throw_type(row, column, typeid(T).name());
    try {
      return v.format == Format::binary ? Codec<T>::from_binary(v.data, v.type)
                                        : Codec<T>::from_text(v.data, v.type);
    } catch (...) {
      rethrow_with_column(row, column);
    }
  }
}

}  // namespace matrx::orm::pg
