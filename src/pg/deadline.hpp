// A deadline for one wait: when it fires while armed, it runs `on_expiry` (close a socket,
// cancel a wait, close a connection), which ends the wait. Used by connect, the cancel
// request and the pool's drain instead of `wait || timer`, because Boost 1.81's awaitable
// operators can complete into a branch that already finished (docs/design.md, "No `a || b`
// inside the library"). The timer may fire on another thread just as the wait ends:
// disarm() takes the same lock, so a late timer never touches an object that is gone.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace matrx::orm::pg::detail {

class Deadline {
 public:
  Deadline(const boost::asio::any_io_executor& ex, std::chrono::steady_clock::duration after,
           std::function<void()> on_expiry)
      : state_(std::make_shared<State>()), timer_(ex, after) {
    state_->on_expiry = std::move(on_expiry);
    timer_.async_wait([state = state_](boost::system::error_code ec) {
      std::lock_guard lock(state->mutex);
      if (ec || !state->on_expiry) return;
      state->fired = true;
      state->on_expiry();
    });
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() { disarm(); }

  /// Call when the wait has ended: the deadline can no longer fire. True if it already had
  /// (the wait ended because of it).
  bool disarm() {
    bool fired = false;
    {
      std::lock_guard lock(state_->mutex);
      state_->on_expiry = nullptr;
      fired = state_->fired;
    }
    timer_.cancel();
    return fired;
  }

 private:
  struct State {
    std::mutex mutex;
    std::function<void()> on_expiry;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  boost::asio::steady_timer timer_;
};

}  // namespace matrx::orm::pg::detail
