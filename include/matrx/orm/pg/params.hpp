// Params: the bound parameters of one statement ($1, $2, …), encoded by Codec<T>.
// Values are always sent out of band: SQL text never contains a value.
#pragma once

#include <cstdint>
#include <optional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm::pg {

/// Parameter encoding. `preferred` uses each codec's preferred format (binary for
/// fixed-OID types); `text` sends every parameter in text form.
enum class ParamEncoding { preferred, text };

class Params {
 public:
  /// libpq / the protocol cap parameters at 65535 per statement.
  static constexpr std::size_t max_params = 65535;

  Params() = default;
  explicit Params(ParamEncoding encoding) : encoding_(encoding) {}

  template <class... Ts>
  static Params of(const Ts&... values) {
    Params p;
    (p.add(values), ...);
    return p;
  }

  /// Appends a value. std::optional<T> without a value, and std::nullopt, bind NULL.
  template <class T>
  Params& add(const T& value) { return add_with_oid(value, std::nullopt); }

  /// Appends a value with an explicit parameter type (e.g. the column's OID).
  template <class T>
  Params& add(const T& value, Oid type) { return add_with_oid(value, type); }

  Params& add_null(Oid type = oid::unspecified);
  /// Appends a value already encoded by a codec (text or binary form).
  Params& add_encoded(std::string_view bytes, Oid type, bool binary);
  Params& add(std::nullopt_t) { return add_null(); }
  /// Appends a binary value (bytea unless `type` says otherwise) without copying it: for large
  /// values, which would otherwise exist once more here. `bytes` must outlive every query
  /// that uses these Params.
  Params& add_borrowed(std::span<const std::uint8_t> bytes, Oid type = oid::bytea);
  /// Bytes of all values (what libpq will copy into its send buffer).
  std::size_t byte_size() const noexcept { return data_.size() + borrowed_bytes_; }

  std::size_t size() const noexcept { return types_.size(); }
  bool empty() const noexcept { return types_.empty(); }
  ParamEncoding encoding() const noexcept { return encoding_; }

  // Views for libpq; valid until the next add(). A const Params may be shared by
  // concurrent queries: nothing here mutates.
  const Oid* types() const noexcept { return types_.data(); }
  const int* lengths() const noexcept { return lengths_.data(); }
  const int* formats() const noexcept { return formats_.data(); }
  /// Fills `out` with one pointer per value (nullptr for NULL).
  void value_pointers(std::vector<const char*>& out) const;

  /// Parameters rendered for an error message under the current ParameterPolicy.
  std::vector<std::string> render() const;

 private:
  template <class T>
  Params& add_with_oid(const T& value, std::optional<Oid> type) {
    if constexpr (detail::is_optional<T>::value) {
      if (!value) return add_null(type.value_or(Codec<typename T::value_type>::oid));
      return add_with_oid(*value, type);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      return add_string(std::string_view(value), type);
    } else {
      static_assert(HasCodec<T>, "no matrx::orm::pg::Codec for this type (see docs/types.md)");
      const bool binary = encoding_ == ParamEncoding::preferred && Codec<T>::binary_param;
      const std::size_t start = begin_value();
      if (binary) Codec<T>::to_binary(value, data_);
      else Codec<T>::to_text(value, data_);
      finish_value(start, type.value_or(Codec<T>::oid), binary);
      return *this;
    }
  }
  Params& add_string(std::string_view value, std::optional<Oid> type);
  std::size_t begin_value();
  void finish_value(std::size_t start, Oid type, bool binary);

  // Inline room for 8 parameters: a typical statement allocates nothing here but data_
  // (measured: the four vectors growing were 8 allocations per point select).
  template <class T>
  using Small = boost::container::small_vector<T, 8>;
  ParamEncoding encoding_ = ParamEncoding::preferred;
  std::string data_;            // all values back to back
  Small<std::size_t> offsets_;  // start of each value in data_
  Small<Oid> types_;
  Small<int> lengths_;          // -1 = NULL
  Small<int> formats_;
  // add_borrowed values: offsets_ holds `borrowed` and the pointer is kept here by index.
  static constexpr std::size_t borrowed = std::numeric_limits<std::size_t>::max();
  std::vector<std::pair<std::size_t, const char*>> borrowed_;
  std::size_t borrowed_bytes_ = 0;
  const char* value_at(std::size_t i) const noexcept;
};

}  // namespace matrx::orm::pg
