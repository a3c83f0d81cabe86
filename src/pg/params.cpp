#include "matrx/orm/pg/params.hpp"

#include <limits>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::pg {

std::size_t Params::begin_value() {
  if (types_.size() >= max_params)
    throw ParameterError(fmt::format("too many parameters: PostgreSQL accepts at most {} per statement", max_params),
                         ErrorContext{.hint = "split the statement (bulk operations chunk automatically)"});
  // A first value of up to 15 bytes stays in the string's own buffer (a point select's key:
  // no allocation); from the second on, one allocation holds a few small values.
  if (!data_.empty() && data_.capacity() < 64) data_.reserve(64);
  return data_.size();
}

void Params::finish_value(std::size_t start, Oid type, bool binary) {
  const std::size_t length = data_.size() - start;
  if (length > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ParameterError("parameter larger than 2 GiB");
  // Text parameters are NUL-terminated C strings for libpq.
  if (!binary) data_.push_back('\0');
  offsets_.push_back(start);
  types_.push_back(type);
  lengths_.push_back(static_cast<int>(length));
  formats_.push_back(binary ? 1 : 0);
}

Params& Params::add_null(Oid type) {
  begin_value();
  offsets_.push_back(data_.size());
  types_.push_back(type);
  lengths_.push_back(-1);
  formats_.push_back(0);
  return *this;
}

Params& Params::add_encoded(std::string_view bytes, Oid type, bool binary) {
  if (!binary && bytes.find('\0') != std::string_view::npos)
    throw ParameterError("cannot send text parameter: it contains a NUL byte");
  const std::size_t start = begin_value();
  data_.append(bytes);
  finish_value(start, type, binary);
  return *this;
}

Params& Params::add_string(std::string_view value, std::optional<Oid> type) {
  if (value.find('\0') != std::string_view::npos)
    throw ParameterError("cannot send text parameter: the string contains a NUL byte, which PostgreSQL text cannot store",
                         ErrorContext{.hint = "send binary data as matrx::orm::Bytes (bytea)"});
  const std::size_t start = begin_value();
  data_.append(value);
  finish_value(start, type.value_or(oid::unspecified), false);
  return *this;
}

Params& Params::add_borrowed(std::span<const std::uint8_t> bytes, Oid type) {
  begin_value();
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ParameterError("parameter larger than 2 GiB");
  borrowed_.emplace_back(types_.size(), reinterpret_cast<const char*>(bytes.data()));
  borrowed_bytes_ += bytes.size();
  offsets_.push_back(borrowed);
  types_.push_back(type);
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

const char* Params::value_at(std::size_t i) const noexcept {
  if (offsets_[i] != borrowed) return data_.data() + offsets_[i];
  for (const auto& [index, pointer] : borrowed_)
    if (index == i) return pointer;
  return nullptr;
}

void Params::value_pointers(std::vector<const char*>& out) const {
  out.resize(types_.size());
  for (std::size_t i = 0; i < types_.size(); ++i) out[i] = lengths_[i] < 0 ? nullptr : value_at(i);
}

std::vector<std::string> Params::render() const {
  std::vector<std::string> out;
  out.reserve(types_.size());
  const bool full = error_parameter_policy() == ParameterPolicy::full;
  for (std::size_t i = 0; i < types_.size(); ++i) {
    const std::string type = types_[i] ? describe_type(types_[i]) : "untyped";
    if (lengths_[i] < 0) { out.emplace_back("NULL"); continue; }
    if (!full) { out.push_back(fmt::format("<{}, {} bytes>", type, lengths_[i])); continue; }
    std::string_view v(value_at(i), static_cast<std::size_t>(lengths_[i]));
    if (formats_[i] == 1) {
      std::string hex;
      for (std::size_t k = 0; k < v.size() && k < 32; ++k) fmt::format_to(std::back_inserter(hex), "{:02x}", static_cast<unsigned char>(v[k]));
      out.push_back(fmt::format("<{} binary {}{}>", type, hex, v.size() > 32 ? "…" : ""));
    } else {
      out.push_back(fmt::format("'{}'{}", v.substr(0, 80), v.size() > 80 ? "…" : ""));
    }
  }
  return out;
}

}  // namespace matrx::orm::pg
