// Pool: see pool.hpp for the contract. Bookkeeping is under one mutex; waits are Asio
// operations so that acquirers can be cancelled and time out.
#include "matrx/orm/pg/pool.hpp"

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/pg/detail/completion.hpp"
#include "deadline.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace matrx::orm::pg {
namespace detail {

struct SharedLoan {
  PooledConnection conn;
  std::size_t borrowers = 0;  // guarded by the pool's mutex
  bool draining = false;      // takes no new borrowers (an exclusive acquirer waits)
};

namespace {
double random_unit() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}
}  // namespace

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  struct Ready {
    Connection conn;
    Clock::time_point expires;
    Clock::time_point idle_since;
  };
  struct Waiter {
    std::optional<Ready> handed;  // a connection given directly to this waiter
    bool reserved = false;        // a slot given to this waiter: it opens a connection
    bool closed = false;          // the pool closed
    bool woken = false;           // a shared acquirer: something changed, look again
    std::unique_ptr<Completion<std::exception_ptr>> completion;
    std::unique_ptr<asio::steady_timer> deadline;  // completes the wait with none of the above
  };
  using WaiterPtr = std::shared_ptr<Waiter>;

  PoolCore(asio::any_io_executor ex, ConnectOptions options, PoolConfig config)
      : ex_(std::move(ex)), options_(std::move(options)), config_(std::move(config)) {}

  const PoolConfig& config() const { return config_; }
  asio::any_io_executor executor() const { return ex_; }

  // A slot counted in size_ but not yet holding an open connection: released (passed to a
  // waiter, or size_ shrinks) when the guard goes out of scope armed.
  struct SlotGuard {
    PoolCore* pool;
    bool armed = true;
    explicit SlotGuard(PoolCore* p) : pool(p) {}
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;
    ~SlotGuard() {
      if (!armed) return;
      std::lock_guard lock(pool->mutex_);
      pool->release_slot_locked();
    }
  };

  asio::awaitable<PooledConnection> acquire() {
    const auto deadline = Clock::now() + config_.acquire_timeout;
    for (;;) {
      WaiterPtr waiter;
      std::vector<Connection> to_close;
      std::optional<PooledConnection> ready;
      bool reserve = false;
      {
        std::lock_guard lock(mutex_);
        if (closed_) throw StateError("the connection pool is closed", ErrorContext{.operation = "acquire"});
        while (!idle_.empty()) {
          Ready r = std::move(idle_.back());
          idle_.pop_back();
          if (!r.conn.is_open() || r.conn.is_broken()) {
            ++stats_.closed_broken;
            --size_;
            to_close.push_back(std::move(r.conn));
            continue;
          }
          if (config_.max_lifetime.count() > 0 && Clock::now() >= r.expires) {
            ++stats_.closed_lifetime;
            --size_;
            to_close.push_back(std::move(r.conn));
            continue;
          }
          ready.emplace(PooledConnection(shared_from_this(), std::move(r.conn), r.expires));
          break;
        }
        if (!ready) {
          if (size_ < config_.max_size) {
            ++size_;
            reserve = true;
          } else {
            waiter = std::make_shared<Waiter>();
            waiters_.push_back(waiter);
          }
        }
      }
      for (auto& c : to_close) c.close();
      if (ready) {
        if (co_await ready->connection().check_alive()) co_return std::move(*ready);
        ready->release();  // broken: give_back() closes it and frees the slot
        continue;
      }
      if (reserve) {
        SlotGuard slot{this};
        co_return co_await open_reserved(deadline, slot);
      }

      // Wait for a connection or a slot, bounded by the deadline, cancellable.
      try {
        co_await wait_for(waiter, deadline);
      } catch (...) {
        abandon_waiter(waiter);
        throw;
      }
      {
        std::unique_lock lock(mutex_);
        waiter->deadline.reset();
        if (waiter->handed) {
          Ready r = std::move(*waiter->handed);
          co_return PooledConnection(shared_from_this(), std::move(r.conn), r.expires);
        }
        if (waiter->closed) throw StateError("the connection pool was closed", ErrorContext{.operation = "acquire"});
        if (!waiter->reserved) {
          std::erase(waiters_, waiter);
          ++stats_.acquire_timeouts;
          throw timeout_error_locked();
        }
        waiter->reserved = false;  // the slot is ours now: the guard below returns it on failure
      }
      SlotGuard slot{this};
      co_return co_await open_reserved(deadline, slot);
    }
  }

  // Without waiting: join a shared loan, or lend an idle connection that passes the
  // synchronous checks. nullopt: take the awaiting path.
  std::optional<SharedConnection> try_acquire_shared() {
    std::lock_guard lock(mutex_);
    if (closed_) return std::nullopt;
    if (idle_.empty()) {
      if (size_ < config_.max_size) return std::nullopt;  // acquire_shared() opens one
      auto loan = join_locked();
      if (!loan) return std::nullopt;
      return SharedConnection(shared_from_this(), std::move(loan));
    }
    Ready& r = idle_.back();
    const bool expired = config_.max_lifetime.count() > 0 && Clock::now() >= r.expires;
    if (expired || !r.conn.ready_for_reuse()) return std::nullopt;  // acquire() sorts it out
    PooledConnection conn(shared_from_this(), std::move(r.conn), r.expires);
    idle_.pop_back();
    return lend_locked(std::move(conn));
  }

  // An idle connection, or a new one while below max_size, becomes a new shared loan;
  // otherwise the caller joins the least busy loan, or waits until one exists or a
  // connection comes back.
  asio::awaitable<SharedConnection> acquire_shared() {
    const auto deadline = Clock::now() + config_.acquire_timeout;
    for (;;) {
      WaiterPtr waiter;
      {
        std::lock_guard lock(mutex_);
        if (closed_) throw StateError("the connection pool is closed", ErrorContext{.operation = "acquire"});
        if (idle_.empty() && size_ >= config_.max_size) {
          if (auto loan = join_locked()) co_return SharedConnection(shared_from_this(), std::move(loan));
          waiter = std::make_shared<Waiter>();
          shared_waiters_.push_back(waiter);
        }
      }
      if (!waiter) {
        PooledConnection conn = co_await acquire();
        std::lock_guard lock(mutex_);
        co_return lend_locked(std::move(conn));
      }
      try {
        co_await wait_for(waiter, deadline);
      } catch (...) {
        std::lock_guard lock(mutex_);
        waiter->deadline.reset();
        std::erase(shared_waiters_, waiter);
        throw;
      }
      std::lock_guard lock(mutex_);
      waiter->deadline.reset();
      std::erase(shared_waiters_, waiter);
      if (!waiter->woken) {
        ++stats_.acquire_timeouts;
        throw timeout_error_locked();
      }
    }
  }

  // A connection on loan from the pool becomes a shared loan with its first borrower;
  // waiting shared acquirers may join it.
  SharedConnection lend_locked(PooledConnection conn) {
    auto loan = std::make_shared<SharedLoan>();
    loan->conn = std::move(conn);
    loan->borrowers = 1;
    loans_.push_back(loan);
    wake_shared_locked();
    return SharedConnection(shared_from_this(), std::move(loan));
  }

  // The last borrower returns the connection; an exclusive waiter may be next.
  void leave(const std::shared_ptr<SharedLoan>& loan) {
    PooledConnection conn;
    {
      std::lock_guard lock(mutex_);
      if (--loan->borrowers > 0) return;
      std::erase(loans_, loan);
      conn = std::move(loan->conn);
    }
    conn.release();
  }

  asio::awaitable<void> warm_up() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (closed_ || size_ >= config_.min_size) co_return;
        ++size_;
      }
      SlotGuard slot{this};
      PooledConnection c = co_await open_reserved(Clock::now() + config_.acquire_timeout, slot);
      c.release();
    }
  }

  // --- leak detection (PoolConfig::leak_threshold) -------------------------------------------
  // Watched loans live in a map under the pool's lock; one sweeping coroutine runs while any
  // are outstanding and reports each loan once. Nothing of this runs when the threshold is 0.
  struct WatchedLoan {
    Clock::time_point since;
    boost::source_location where;
    bool reported = false;
  };

  std::uint64_t watch(boost::source_location where) {
    std::lock_guard lock(mutex_);
    const auto id = ++last_watch_;
    watched_.emplace(id, WatchedLoan{Clock::now(), where});
    if (!sweeping_ && !closed_) {
      sweeping_ = true;
      asio::co_spawn(ex_, sweep(shared_from_this()), asio::detached);
    }
    return id;
  }

  void unwatch(std::uint64_t id) {
    if (id == 0) return;
    std::lock_guard lock(mutex_);
    watched_.erase(id);
  }

  static asio::awaitable<void> sweep(std::shared_ptr<PoolCore> self) {
    const auto period = std::max(self->config_.leak_threshold / 2, std::chrono::milliseconds(10));
    for (;;) {
      asio::steady_timer t(self->ex_, period);
      co_await t.async_wait(asio::use_awaitable);
      std::vector<std::string> reports;
      {
        std::lock_guard lock(self->mutex_);
        if (self->closed_ || self->watched_.empty()) {
          self->sweeping_ = false;
          co_return;
        }
        const auto now = Clock::now();
        for (auto& [id, loan] : self->watched_) {
          const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(now - loan.since);
          if (loan.reported || held < self->config_.leak_threshold) continue;
          loan.reported = true;
          ++self->stats_.leaks_reported;
          reports.push_back(fmt::format("a pooled connection has been held for {} ms (leak_threshold {} ms); acquired at "
                                        "{}:{} in {}",
                                        held.count(), self->config_.leak_threshold.count(), loan.where.file_name(),
                                        loan.where.line(), loan.where.function_name()));
        }
      }
      for (const auto& r : reports) log(LogLevel::warning, r);
    }
  }

  // Called when a PooledConnection is released.
  void give_back(Connection conn, Clock::time_point expires) {
    if (!conn.is_open() || conn.is_broken()) return discard(std::move(conn), &PoolStats::closed_broken);
    if (config_.max_lifetime.count() > 0 && Clock::now() >= expires)
      return discard(std::move(conn), &PoolStats::closed_lifetime);
    if (!conn.role_matches()) return discard(std::move(conn), &PoolStats::closed_role);
    if (config_.max_retained_message > 0 && conn.largest_message() > config_.max_retained_message)
      return discard(std::move(conn), &PoolStats::closed_large);
    {
      std::lock_guard lock(mutex_);
      if (closed_) {
        --size_;
        conn.close();
        return;
      }
    }
    if (conn.pending() > 0 || conn.transaction_state() != TransactionState::idle || !config_.reset_query.empty() ||
        needs_discard(conn)) {
      asio::co_spawn(ex_, reset(shared_from_this(), std::move(conn), expires), asio::detached);
      return;
    }
    return_ready(std::move(conn), expires);
  }

  PoolStats stats() const {
    std::lock_guard lock(mutex_);
    PoolStats s = stats_;
    s.size = size_;
    s.idle = idle_.size();
    s.waiting = waiters_.size() + shared_waiters_.size();
    s.in_use = size_ - idle_.size();
    s.shared = loans_.size();
    return s;
  }

  void close() {
    std::vector<Ready> idle;
    std::deque<WaiterPtr> waiters;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      idle = std::move(idle_);
      idle_.clear();
      size_ -= idle.size();
      waiters = std::move(waiters_);
      waiters_.clear();
      for (auto& w : waiters) {
        w->closed = true;
        signal_locked(*w);
      }
      wake_shared_locked();  // they see the pool closed
    }
    for (auto& r : idle) r.conn.close();
  }

 private:
  // Completes when the waiter is handed a connection or a slot, woken, or the pool closes;
  // at the deadline with none of these; on cancellation with operation_aborted. The deadline
  // is a timer of the waiter's own, not `wait || timer`: Boost 1.81's awaitable operators
  // emit a cancellation into a branch that has already finished when the other one succeeds
  // afterwards, a use-after-free the B2 cancellation injector (test_faults.cpp) hit here.
  asio::awaitable<void> wait_for(WaiterPtr waiter, Clock::time_point deadline) {
    auto initiation = [this, waiter, deadline](auto handler) {
          using Handler = decltype(handler);
          auto completion = std::make_unique<CompletionFor<Handler, std::exception_ptr>>(std::move(handler), ex_);
          std::lock_guard lock(mutex_);
          waiter->completion = std::move(completion);
          std::weak_ptr<Waiter> weak = waiter;
          std::weak_ptr<PoolCore> weak_self = shared_from_this();
          waiter->deadline = std::make_unique<asio::steady_timer>(ex_, deadline);
          waiter->deadline->async_wait([weak_self, weak](boost::system::error_code ec) {
            if (ec) return;  // the wait ended first
            auto self = weak_self.lock();
            auto w = weak.lock();
            if (!self || !w) return;
            std::lock_guard lock(self->mutex_);
            if (w->completion) w->completion->complete(nullptr);
          });
          auto& slot = waiter->completion->slot();
          if (slot.is_connected()) {
            // Weak references only: the handler may outlive the wait (see
            // Completion::complete). It completes through a post, outside the emit.
            slot.assign([weak_self, weak](asio::cancellation_type) {
              auto self = weak_self.lock();
              if (!self) return;
              asio::post(self->ex_, [self, weak] {
                auto w = weak.lock();
                if (!w) return;
                std::lock_guard lock(self->mutex_);
                if (w->completion)
                  w->completion->complete(std::make_exception_ptr(
                      boost::system::system_error(asio::error::operation_aborted, "acquire cancelled")));
              });
            });
          }
          if (waiter->handed || waiter->reserved || waiter->closed || waiter->woken) waiter->completion->complete(nullptr);
        };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(initiation, asio::use_awaitable);
  }

  // The shared connection with the fewest borrowers, unless draining. While acquirers
  // wait for a connection of their own, one loan drains so that it comes back to the pool.
  std::shared_ptr<SharedLoan> join_locked() {
    std::shared_ptr<SharedLoan> best;
    bool any_draining = false;
    for (const auto& l : loans_) {
      any_draining = any_draining || l->draining;
      if (!l->draining && !l->conn->is_broken() && (!best || l->borrowers < best->borrowers)) best = l;
    }
    if (!waiters_.empty() && !any_draining && best) {
      best->draining = true;
      best.reset();
      for (const auto& l : loans_)
        if (!l->draining && !l->conn->is_broken() && (!best || l->borrowers < best->borrowers)) best = l;
    }
    if (best) ++best->borrowers;
    return best;
  }

  void signal_locked(Waiter& w) {
    if (w.completion) w.completion->complete(nullptr);
  }

  void wake_shared_locked() {
    for (auto& w : shared_waiters_) {
      w->woken = true;
      signal_locked(*w);
    }
    shared_waiters_.clear();
  }

  // An acquirer gave up (timeout or cancellation): give back whatever it was handed.
  void abandon_waiter(const WaiterPtr& waiter) {
    std::optional<Ready> handed;
    bool reserved = false;
    {
      std::lock_guard lock(mutex_);
      std::erase(waiters_, waiter);
      handed = std::move(waiter->handed);
      waiter->handed.reset();
      reserved = std::exchange(waiter->reserved, false);
      if (reserved) release_slot_locked();
    }
    if (handed) return_ready(std::move(handed->conn), handed->expires);
  }

  // A slot (size_ counted) is no longer needed: pass it to the first waiter, or shrink.
  void release_slot_locked() {
    if (!waiters_.empty() && !closed_) {
      WaiterPtr w = std::move(waiters_.front());
      waiters_.pop_front();
      w->reserved = true;
      signal_locked(*w);
    } else {
      --size_;
      wake_shared_locked();  // a slot is free: a shared acquirer may open a connection
    }
  }

  void return_ready(Connection conn, Clock::time_point expires) {
    std::unique_lock lock(mutex_);
    if (closed_) {
      --size_;
      lock.unlock();
      conn.close();
      return;
    }
    if (!waiters_.empty()) {
      WaiterPtr w = std::move(waiters_.front());
      waiters_.pop_front();
      w->handed = Ready{std::move(conn), expires, Clock::now()};
      signal_locked(*w);
      return;
    }
    // Trim connections idle longer than idle_timeout while above min_size.
    std::vector<Connection> to_close;
    const auto now = Clock::now();
    if (config_.idle_timeout.count() > 0) {
      std::erase_if(idle_, [&](Ready& r) {
        if (size_ <= config_.min_size || now - r.idle_since < config_.idle_timeout) return false;
        --size_;
        ++stats_.closed_idle;
        to_close.push_back(std::move(r.conn));
        return true;
      });
    }
    idle_.push_back(Ready{std::move(conn), expires, now});
    wake_shared_locked();
    lock.unlock();
    for (auto& c : to_close) c.close();
  }

  void discard(Connection conn, std::uint64_t PoolStats::*counter) {
    conn.close();
    bool refill = false;
    {
      std::lock_guard lock(mutex_);
      ++(stats_.*counter);
      release_slot_locked();
      refill = !closed_ && size_ < config_.min_size;
      if (refill) ++size_;
    }
    if (refill) {
      asio::co_spawn(ex_, [self = shared_from_this()]() -> asio::awaitable<void> {
        SlotGuard slot{self.get()};
        try {
          PooledConnection c = co_await self->open_reserved(Clock::now() + self->config_.acquire_timeout, slot);
        } catch (const std::exception& e) {
          log(LogLevel::warning, fmt::format("connection pool could not reopen a connection: {}", e.what()));
        }
      }, asio::detached);
    }
  }

  // DISCARD ALL for this returned connection (PoolConfig::session_reset)?
  bool needs_discard(const Connection& conn) const noexcept {
    if (conn.pooler_mode() == PoolerMode::transaction) return false;
    return config_.session_reset == SessionReset::always ||
           (config_.session_reset == SessionReset::when_touched && conn.session_touched());
  }

  static asio::awaitable<void> reset(std::shared_ptr<PoolCore> self, Connection conn, Clock::time_point expires) {
    {
      std::lock_guard lock(self->mutex_);
      ++self->stats_.resets;
    }
    try {
      auto ex = co_await asio::this_coro::executor;
      if (conn.pending() > 0) {
        // At drain_timeout the connection is closed, which ends the wait (detail::Deadline:
        // not `wait || timer`).
        Deadline deadline(ex, self->config_.drain_timeout, [&conn] { conn.close(); });
        co_await conn.wait_idle();
        const bool timed_out = deadline.disarm();
        if (timed_out) {
          log(LogLevel::warning, "closing a returned connection whose cancelled query did not finish in time");
          self->discard(std::move(conn), &PoolStats::closed_broken);
          co_return;
        }
      }
      if (conn.transaction_state() != TransactionState::idle && !conn.is_broken()) {
        log(LogLevel::warning, "a connection was returned to the pool inside a transaction; rolling back");
        co_await conn.execute("ROLLBACK");
      }
      if (self->needs_discard(conn) && !conn.is_broken()) {
        co_await conn.execute("DISCARD ALL");
        std::lock_guard lock(self->mutex_);
        ++self->stats_.session_resets;
      }
      if (!self->config_.reset_query.empty() && !conn.is_broken()) co_await conn.execute(self->config_.reset_query);
      if (conn.is_broken() || conn.transaction_state() != TransactionState::idle) {
        self->discard(std::move(conn), &PoolStats::closed_broken);
        co_return;
      }
    } catch (const std::exception& e) {
      log(LogLevel::warning, fmt::format("resetting a returned connection failed, closing it: {}", e.what()));
      self->discard(std::move(conn), &PoolStats::closed_broken);
      co_return;
    }
    self->return_ready(std::move(conn), expires);
  }

  // Opens a connection for a slot already counted in size_, retrying with backoff until
  // the deadline; `guard` is disarmed once the connection is open. The caller creates the
  // guard before co_awaiting this: a coroutine whose cancellation was already requested
  // throws at that co_await without running this body, and the slot must still go back
  // (a cancellation storm leaked every slot that way).
  asio::awaitable<PooledConnection> open_reserved(Clock::time_point deadline, SlotGuard& guard) {
    auto backoff = config_.backoff_initial;
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
      ConnectOptions opts = options_;
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (remaining.count() <= 0) {
        std::lock_guard lock(mutex_);
        ++stats_.acquire_timeouts;
        throw timeout_error_locked();
      }
      opts.connect_timeout = std::min(opts.connect_timeout, remaining);
      try {
        Connection conn = co_await Connection::connect(ex_, std::move(opts));
        guard.armed = false;
        const auto lifetime = config_.max_lifetime.count() > 0
                                  ? std::chrono::duration_cast<Clock::duration>(config_.max_lifetime * (1.0 - 0.025 * random_unit()))
                                  : Clock::duration::max() / 2;
        std::lock_guard lock(mutex_);
        ++stats_.opened;
        co_return PooledConnection(shared_from_this(), std::move(conn), Clock::now() + lifetime);
      } catch (const ConfigurationError&) {
        throw;  // retrying cannot help
      } catch (const OrmError& e) {
        std::lock_guard lock(mutex_);
        ++stats_.connect_failures;
        last_connect_error_ = e.message();
        if (!e.context().sqlstate.empty()) last_connect_error_ += fmt::format(" (SQLSTATE {})", e.context().sqlstate);
        // Nor here: a wrong password stays wrong, and each retry is one more failed login.
        if (dynamic_cast<const AuthenticationError*>(&e)) throw;
      }
      // Exponential backoff with ±50% jitter, cut at the deadline: the timeout the error
      // states is the time the caller waited (it used to give up early, at the last backoff).
      const auto delay = std::chrono::duration_cast<Clock::duration>(backoff * (0.5 + random_unit()));
      backoff = std::min(backoff * 2, config_.backoff_max);
      asio::steady_timer t(ex, std::min(Clock::now() + delay, deadline));
      co_await t.async_wait(asio::use_awaitable);
    }
  }

  PoolTimeoutError timeout_error_locked() const {
    ErrorContext ctx{.operation = "acquire"};
    if (!last_connect_error_.empty()) ctx.detail = "last connect error: " + last_connect_error_;
    ctx.hint = "raise PoolConfig::max_size or acquire_timeout, or return connections sooner";
    return PoolTimeoutError(fmt::format("no connection available within {} ms (pool size {}, max {}, {} waiting)",
                                        config_.acquire_timeout.count(), size_, config_.max_size, waiters_.size()),
                            std::move(ctx));
  }

  asio::any_io_executor ex_;
  ConnectOptions options_;
  PoolConfig config_;
  mutable std::mutex mutex_;
  std::vector<Ready> idle_;
  std::deque<WaiterPtr> waiters_;          // exclusive acquirers, FIFO
  std::vector<WaiterPtr> shared_waiters_;  // shared acquirers waiting for a loan or a connection
  std::vector<std::shared_ptr<SharedLoan>> loans_;  // connections lent as shared
  std::size_t size_ = 0;
  bool closed_ = false;
  std::map<std::uint64_t, WatchedLoan> watched_;  // leak watch: loans by id
  std::uint64_t last_watch_ = 0;
  bool sweeping_ = false;
  std::string last_connect_error_;
  PoolStats stats_;
};

}  // namespace detail

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
    expires_ = other.expires_;
    watch_ = std::exchange(other.watch_, 0);
  }
  return *this;
}

void PooledConnection::release() noexcept {
  if (!pool_) return;
  auto pool = std::move(pool_);
  pool->unwatch(std::exchange(watch_, 0));
  try {
    pool->give_back(std::move(conn_), expires_);
  } catch (const std::exception& e) {
    log(LogLevel::error, fmt::format("returning a connection to the pool failed: {}", e.what()));
  }
}

SharedConnection& SharedConnection::operator=(SharedConnection&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    loan_ = std::move(other.loan_);
  }
  return *this;
}

Connection& SharedConnection::operator*() noexcept { return *loan_->conn; }

void SharedConnection::release() noexcept {
  if (!loan_) return;
  auto pool = std::move(pool_);
  auto loan = std::move(loan_);
  pool->leave(loan);
}

Pool::Pool(asio::any_io_executor executor, ConnectOptions options, PoolConfig config) {
  if (config.max_size == 0) throw ConfigurationError("PoolConfig::max_size must be at least 1");
  if (config.min_size > config.max_size) throw ConfigurationError("PoolConfig::min_size must not exceed max_size");
  if (config.acquire_timeout.count() <= 0) throw ConfigurationError("PoolConfig::acquire_timeout must be positive");
  if (config.backoff_initial.count() <= 0 || config.backoff_max < config.backoff_initial)
    throw ConfigurationError("PoolConfig backoff: need 0 < backoff_initial <= backoff_max");
  core_ = std::make_shared<detail::PoolCore>(std::move(executor), std::move(options), std::move(config));
}

Pool::~Pool() { close(); }
// The coroutines hold the core alive even if the Pool object goes away meanwhile.
asio::awaitable<PooledConnection> Pool::acquire(boost::source_location where) {
  auto core = core_;
  PooledConnection c = co_await core->acquire();
  if (core->config().leak_threshold.count() > 0) c.watch_ = core->watch(where);
  co_return c;
}
asio::awaitable<SharedConnection> Pool::acquire_shared() {
  auto core = core_;
  co_return co_await core->acquire_shared();
}
std::optional<SharedConnection> Pool::try_acquire_shared() { return core_->try_acquire_shared(); }
asio::awaitable<void> Pool::warm_up() {
  auto core = core_;
  co_await core->warm_up();
}
PoolStats Pool::stats() const { return core_->stats(); }
const PoolConfig& Pool::config() const noexcept { return core_->config(); }
asio::any_io_executor Pool::executor() const { return core_->executor(); }
void Pool::close() {
  if (core_) core_->close();
}

}  // namespace matrx::orm::pg
