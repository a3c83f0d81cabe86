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

namespace detail {
// The receivers of one signal, type-erased: sending is one coroutine compiled once in the
// library (src/model/signals.cpp), not one per model.
class SignalCore {
 public:
  using Erased = std::function<boost::asio::awaitable<void>(void*, const SignalContext&)>;
  std::size_t connect(Erased receiver);
  bool disconnect(std::size_t id);
  std::size_t size() const;
  /// Runs the receivers connected when called, in connection order, one after another.
  boost::asio::awaitable<void> send(void* obj, SignalContext context) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::size_t, Erased>> receivers_;
  std::size_t next_id_ = 0;
};
}  // namespace detail

template <class M>
class Signal {
 public:
  using Receiver = std::function<boost::asio::awaitable<void>(M&, const SignalContext&)>;

  /// Adds a receiver; returns an id for disconnect().
  std::size_t connect(Receiver receiver) {
    return core_.connect([r = std::move(receiver)](void* obj, const SignalContext& c) { return r(*static_cast<M*>(obj), c); });
  }
  /// Removes a receiver; false if the id is unknown.
  bool disconnect(std::size_t id) { return core_.disconnect(id); }
  std::size_t size() const { return core_.size(); }
  /// Runs every receiver in order; the first exception propagates. `obj` must outlive the
  /// await (the caller's co_await of the returned awaitable).
  boost::asio::awaitable<void> send(M& obj, SignalContext context) const { return core_.send(&obj, context); }

 private:
  detail::SignalCore core_;
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
