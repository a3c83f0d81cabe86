// bulk_create's fast path: binary COPY … FROM STDIN, chunked, in one transaction.
//
// Chosen only when every column can travel in PostgreSQL's binary COPY format with the
// table's actual column types (checked in pg_attribute on every call, so a migration that
// changed a type is noticed); otherwise bulk_create uses multi-row INSERT. Server-side
// defaults (identity keys, DEFAULT now(), …) that objects leave unset are evaluated first
// by one `SELECT … FROM generate_series(1, n)` in the same transaction and filled into the
// objects, so the objects come back complete without RETURNING.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/pool.hpp"
#include "matrx/orm/query/compiler.hpp"

namespace matrx::orm {

struct BulkCreateOptions {
  /// Fill server-assigned values (identity keys, database defaults) into the objects.
  bool refresh = true;
  /// From this many objects on, binary COPY (when every column allows it); 0 = never.
  std::size_t copy_threshold = 1000;
  /// Rows per COPY statement. Two chunks are held encoded at once: the next is encoded
  /// while the previous one travels to the server.
  std::size_t copy_chunk_rows = 10'000;
};

namespace detail {

/// A table column as the server sees it now.
struct CopyColumn {
  pg::Oid type = 0;
  bool is_enum = false;
  bool identity_always = false;  // GENERATED ALWAYS: explicit values refused
  std::string sequence{};         // of a serial or identity column, schema-qualified
};

enum class CopyEncoding { unsupported, binary, text_bytes, json_text, jsonb_text };

/// The connection a bulk COPY runs on: the caller's transaction's, or one of its own
/// (BEGIN/COMMIT around the chunks). Errors carry the model and operation.
class CopySession {
 public:
  static boost::asio::awaitable<std::unique_ptr<CopySession>> open(const ModelInfo& model);
  /// On `own` (a connection of its own, BEGIN/COMMIT around the work) or on `shared`.
  CopySession(const ModelInfo& model, std::optional<pg::PooledConnection> own, pg::Connection* shared)
      : model_(&model), own_(std::move(own)), conn_(own_ ? &**own_ : shared) {}

  boost::asio::awaitable<std::map<std::string, CopyColumn, std::less<>>> columns();
  boost::asio::awaitable<void> begin();
  boost::asio::awaitable<pg::Result> execute(const Statement& statement);
  /// One COPY of a complete binary stream; returns its row count.
  boost::asio::awaitable<std::uint64_t> copy(const std::string& sql, const std::string& data);
  boost::asio::awaitable<void> commit();

 private:
  const ModelInfo* model_;
  std::optional<pg::PooledConnection> own_;
  pg::Connection* conn_;
  bool begun_ = false;
};

/// `COPY table (cols) FROM STDIN (FORMAT binary)`.
std::string copy_statement(const ModelInfo& m, const std::vector<std::size_t>& cols);
/// `SELECT default_1, … FROM generate_series(1, $n)`: identity keys by nextval of their
/// sequence, other defaults by their expression.
Statement defaults_statement(const ModelInfo& m, const std::vector<std::size_t>& fields, std::size_t rows,
                             const std::map<std::string, CopyColumn, std::less<>>& table);
void begin_copy_data(std::string& buf);
void end_copy_data(std::string& buf);
void begin_copy_row(std::string& buf, std::size_t fields);
void append_copy_null(std::string& buf);
/// Writes the 4-byte length in front of a value appended after `at`.
void finish_copy_value(std::string& buf, std::size_t at);

template <class T>
CopyEncoding copy_encoding(const CopyColumn& c) {
  using U = typename pg::detail::unwrap_optional<T>::type;
  if constexpr (std::is_same_v<U, nlohmann::json>) {
    return c.type == pg::oid::json ? CopyEncoding::json_text : c.type == pg::oid::jsonb ? CopyEncoding::jsonb_text
                                                                                        : CopyEncoding::unsupported;
  } else if constexpr (std::is_same_v<U, std::string>) {
    return c.type == pg::oid::text || c.type == pg::oid::varchar || c.is_enum ? CopyEncoding::text_bytes
                                                                              : CopyEncoding::unsupported;
  } else if constexpr (std::is_enum_v<U> && pg::HasCodec<U>) {
    return c.is_enum ? CopyEncoding::text_bytes : CopyEncoding::unsupported;
  } else if constexpr (pg::HasCodec<U>) {
    if constexpr (pg::Codec<U>::binary_param && pg::Codec<U>::oid != pg::oid::unspecified)
      return c.type == pg::Codec<U>::oid ? CopyEncoding::binary : CopyEncoding::unsupported;
    else
      return CopyEncoding::unsupported;
  } else {
    return CopyEncoding::unsupported;
  }
}

template <class T>
void append_copy_value(std::string& buf, const T& value, CopyEncoding encoding) {
  if constexpr (is_std_optional<T>::value) {
    if (!value) return append_copy_null(buf);
    return append_copy_value(buf, *value, encoding);
  } else {
    const std::size_t at = buf.size();
    buf.append(4, '\0');
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      if (encoding == CopyEncoding::jsonb_text) buf.push_back('\1');  // jsonb's binary format version
      pg::Codec<T>::to_text(value, buf);
    } else if constexpr (std::is_same_v<T, std::string> || std::is_enum_v<T>) {
      pg::Codec<T>::to_text(value, buf);  // text, varchar and enum labels: the bytes themselves
    } else if constexpr (pg::HasCodec<T>) {
      pg::Codec<T>::to_binary(value, buf);
    }
    finish_copy_value(buf, at);
  }
}

}  // namespace detail
}  // namespace matrx::orm
