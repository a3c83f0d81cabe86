// Lifecycle signals with coroutine receivers.
//
//   orm::signals<User>::pre_save().connect([](User& u, const orm::SignalContext&) -> asio::awaitable<void> {
//     if (u.username.empty()) throw orm::ValidationError("username required");  // vetoes the save
//     co_return;
//   });
//
// create(): pre_save, pre_create, INSERT, post_create, post_save (all with created = true).
// save():   pre_save, INSERT … ON CONFLICT, [post_create when it inserted], post_save
//           (created = whether it inserted).
// remove(): pre_delete, DELETE, post_delete.
// Receivers run in connection order and may change the object in pre_* signals. An exception
// from a pre_* receiver stops the operation before any SQL; one from a post_* receiver
// propagates after the write (inside orm::transaction that rolls it back). Bulk operations
// and QuerySet updates/deletes send no signals.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace matrx::orm {

struct SignalContext {
  bool created = false;  ///< post_save/post_create: the row was inserted
};

template <class M>
class Signal {
 public:
  using Receiver = std::function<boost::asio::awaitable<void>(M&, const SignalContext&)>;

  /// Adds a receiver; returns an id for disconnect().
  std::size_t connect(Receiver receiver) {
    std::lock_guard lock(mutex_);
    receivers_.emplace_back(++next_id_, std::move(receiver));
    return next_id_;
  }
  /// Removes a receiver; false if the id is unknown.
  bool disconnect(std::size_t id) {
    std::lock_guard lock(mutex_);
    return std::erase_if(receivers_, [&](const auto& r) { return r.first == id; }) > 0;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return receivers_.size();
  }
  /// Runs every receiver in order; the first exception propagates.
  boost::asio::awaitable<void> send(M& obj, SignalContext context) const {
    std::vector<std::pair<std::size_t, Receiver>> snapshot;
    {
      std::lock_guard lock(mutex_);
      snapshot = receivers_;
    }
    for (const auto& [id, receiver] : snapshot) co_await receiver(obj, context);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::size_t, Receiver>> receivers_;
  std::size_t next_id_ = 0;
};

/// The signals of model M.
template <class M>
struct signals {
  static Signal<M>& pre_save() { static Signal<M> s; return s; }
  static Signal<M>& post_save() { static Signal<M> s; return s; }
  static Signal<M>& pre_create() { static Signal<M> s; return s; }
  static Signal<M>& post_create() { static Signal<M> s; return s; }
  static Signal<M>& pre_delete() { static Signal<M> s; return s; }
  static Signal<M>& post_delete() { static Signal<M> s; return s; }
};

}  // namespace matrx::orm
