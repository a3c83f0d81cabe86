// Paginator: pages of any QuerySet, as in the original.
//
//   orm::Paginator pages(orm::objects<User>().order_by("id"), 20);
//   orm::Page<User> p = co_await pages.page(1);   // p.items, p.total_pages, p.has_next() …
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/model/queryset.hpp"

namespace matrx::orm {

template <class M>
struct Page {
  std::vector<M> items{};
  std::int64_t number = 1;       ///< 1-based
  std::int64_t per_page = 0;
  std::int64_t total_count = 0;
  std::int64_t total_pages = 0;  ///< ceil(total_count / per_page); 0 when there are no rows

  bool has_next() const noexcept { return number < total_pages; }
  bool has_previous() const noexcept { return number > 1; }
  std::optional<std::int64_t> next_number() const noexcept { return has_next() ? std::optional(number + 1) : std::nullopt; }
  std::optional<std::int64_t> previous_number() const noexcept {
    return has_previous() ? std::optional(number - 1) : std::nullopt;
  }
  /// 1-based index of the first item on this page (0 when the page is empty).
  std::int64_t start_index() const noexcept { return items.empty() ? 0 : (number - 1) * per_page + 1; }
  /// 1-based index of the last item on this page (0 when the page is empty).
  std::int64_t end_index() const noexcept { return items.empty() ? 0 : std::min(number * per_page, total_count); }
};

template <Described M>
class Paginator {
 public:
  /// Throws ValidationError when per_page is not positive. Nothing runs until asked.
  Paginator(QuerySet<M> query, std::int64_t per_page = 20) : query_(std::move(query)), per_page_(per_page) {
    if (per_page <= 0) throw ValidationError(fmt::format("per_page must be a positive integer, got {}", per_page));
  }

  /// COUNT(*) of the query, run once and remembered.
  boost::asio::awaitable<std::int64_t> count() {
    if (!total_) total_ = co_await query_.count();
    co_return *total_;
  }
  boost::asio::awaitable<std::int64_t> total_pages() {
    const std::int64_t total = co_await count();
    co_return (total + per_page_ - 1) / per_page_;
  }

  /// Page `number` (1-based). Page 1 of an empty result is valid and empty; any other page
  /// past the end, or a number below 1, throws ValidationError.
  boost::asio::awaitable<Page<M>> page(std::int64_t number) {
    if (number < 1) throw ValidationError(fmt::format("page number must be >= 1, got {}", number));
    Page<M> p;
    p.number = number;
    p.per_page = per_page_;
    p.total_count = co_await count();
    p.total_pages = (p.total_count + per_page_ - 1) / per_page_;
    if (number > std::max<std::int64_t>(1, p.total_pages))
      throw ValidationError(fmt::format("page {} does not exist: there are only {} pages ({} rows, {} per page)", number,
                                        p.total_pages, p.total_count, per_page_));
    const auto slice = query_.slice((number - 1) * per_page_, number * per_page_);
    p.items = co_await slice.all();
    co_return p;
  }

  /// Calls `visit` with every page in order (one page, possibly empty, at least).
  boost::asio::awaitable<void> for_each_page(std::function<boost::asio::awaitable<void>(const Page<M>&)> visit) {
    total_.reset();  // a fresh count for a fresh pass
    const std::int64_t pages = std::max<std::int64_t>(1, co_await total_pages());
    for (std::int64_t n = 1; n <= pages; ++n) {
      const Page<M> p = co_await page(n);
      co_await visit(p);
    }
  }

  std::int64_t per_page() const noexcept { return per_page_; }

 private:
  QuerySet<M> query_;
  std::int64_t per_page_;
  std::optional<std::int64_t> total_{};
};

}  // namespace matrx::orm
