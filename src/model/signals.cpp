// Sending a signal: one coroutine for every model (signals.hpp).
#include "matrx/orm/model/signals.hpp"

#include <algorithm>

namespace matrx::orm::detail {

std::size_t SignalCore::connect(Erased receiver) {
  std::lock_guard lock(mutex_);
  receivers_.emplace_back(++next_id_, std::move(receiver));
  return next_id_;
}

bool SignalCore::disconnect(std::size_t id) {
  std::lock_guard lock(mutex_);
  return std::erase_if(receivers_, [&](const auto& r) { return r.first == id; }) > 0;
}

std::size_t SignalCore::size() const {
  std::lock_guard lock(mutex_);
  return receivers_.size();
}

boost::asio::awaitable<void> SignalCore::send(void* obj, SignalContext context) const {
  std::vector<std::pair<std::size_t, Erased>> snapshot;
  {
    std::lock_guard lock(mutex_);
    if (receivers_.empty()) co_return;
    snapshot = receivers_;
  }
  for (const auto& [id, receiver] : snapshot) co_await receiver(obj, context);
}

}  // namespace matrx::orm::detail
