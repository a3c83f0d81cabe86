// A type-erased, move-only completion handler that completes through the handler's
// associated executor: by posting (complete) or, from an I/O handler that holds no lock,
// by dispatching (complete_here), which resumes a coroutine of the same io_context inline. Written by hand because Boost 1.81's
// any_completion_handler has a recursive move assignment and cannot be posted
// (TOOLCHAIN.md, pitfalls 3 and 4).
#pragma once

#include <memory>
#include <tuple>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace matrx::orm::pg::detail {

template <class... Args>
class Completion {
 public:
  virtual ~Completion() = default;
  /// Completes once; later calls are ignored.
  ///
  /// The cancellation slot is left alone: it belongs to the awaiting coroutine's side, which
  /// may be emitting on it from another thread at this very moment (a `||` whose other
  /// branch finished), and Asio's slots are not thread-safe (ThreadSanitizer caught the
  /// clear racing with an emit). Like Asio's own operations, the handler installed there
  /// must therefore tolerate a late emit: it holds only weak references and finds the
  /// operation finished. The coroutine's next operation replaces it.
  void complete(Args... args) { finish(false, std::move(args)...); }
  /// Like complete(), but may run the handler before returning (asio::dispatch). Only for
  /// callers that hold no lock and are not inside the operation's initiation.
  void complete_here(Args... args) { finish(true, std::move(args)...); }
  bool done() const noexcept { return done_; }
  boost::asio::cancellation_slot& slot() noexcept { return slot_; }

 protected:
  virtual void do_complete(bool here, Args... args) = 0;

 private:
  void finish(bool here, Args... args) {
    if (done_) return;
    done_ = true;
    do_complete(here, std::move(args)...);
  }

  bool done_ = false;
  boost::asio::cancellation_slot slot_;
};

template <class Handler, class... Args>
class CompletionFor : public Completion<Args...> {
 public:
  CompletionFor(Handler h, boost::asio::any_io_executor fallback)
      : handler_(std::move(h)), fallback_(std::move(fallback)) {
    this->slot() = boost::asio::get_associated_cancellation_slot(handler_);
  }

 protected:
  void do_complete(bool here, Args... args) override {
    auto ex = boost::asio::get_associated_executor(handler_, fallback_);
    auto run = [h = std::move(handler_), tup = std::make_tuple(std::move(args)...)]() mutable {
      std::apply([&](auto&&... a) { std::move(h)(std::move(a)...); }, std::move(tup));
    };
    if (here) boost::asio::dispatch(ex, std::move(run));
    else boost::asio::post(ex, std::move(run));
  }

 private:
  Handler handler_;
  boost::asio::any_io_executor fallback_;
};

}  // namespace matrx::orm::pg::detail
