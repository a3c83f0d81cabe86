// What bulk_create needs from a model, behind plain function pointers. The coroutine that
// does the work (src/model/bulk_create.cpp) is then compiled once, in the library, instead
// of once per model in every translation unit that calls bulk_create: with its COPY and
// INSERT paths it was the most expensive call of the compile-time probe
// (docs/performance.md, "Build time"). The per-model functions are small loops over the
// fields, with no coroutine in them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/model/bulk_copy.hpp"
#include "matrx/orm/pg/params.hpp"
#include "matrx/orm/pg/result.hpp"

namespace matrx::orm::detail {

/// The objects are an array of the model's type; `stride` is its size.
struct BulkOps {
  const ModelInfo* model = nullptr;
  std::size_t stride = 0;
  /// Before writing: defaults, timestamps, version 1, validation (throws ValidationError).
  void (*prepare)(void* obj) = nullptr;
  /// For every field with a server default: how many of the objects leave it unset.
  void (*count_unset)(const void* objs, std::size_t n, std::vector<std::size_t>& unset) = nullptr;
  /// How field `field` can travel in binary COPY into a column of this type.
  CopyEncoding (*copy_encoding)(std::size_t field, const CopyColumn& column) = nullptr;
  /// One COPY row's values (the row header is written by the caller).
  void (*append_copy_row)(std::string& buf, const void* obj, const std::vector<bool>& included,
                          const std::vector<CopyEncoding>& encoding) = nullptr;
  /// Fields still unset take their value from `row` of `r` (columns: field → result column).
  void (*take_defaults)(void* obj, const pg::Result& r, int row, const std::vector<int>& columns) = nullptr;
  std::vector<std::size_t> (*insert_columns)(const void* objs, std::size_t n) = nullptr;
  void (*append_values_row)(std::string& sql, pg::Params& params, const void* obj,
                            const std::vector<std::size_t>& cols) = nullptr;
  void (*hydrate)(const pg::Result& r, int row, void* obj, const std::vector<int>& columns) = nullptr;
  boost::asio::awaitable<void> (*cache_after_write)(const void* objs, std::size_t n, bool store) = nullptr;
};

/// bulk_create for any model (see orm::bulk_create in crud.hpp).
boost::asio::awaitable<std::size_t> bulk_create_any(const BulkOps& ops, void* objs, std::size_t n,
                                                    BulkCreateOptions options);

}  // namespace matrx::orm::detail
