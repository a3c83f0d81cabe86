// Connection on Asio + libpq: non-blocking, pipeline mode, one Sync per query.
// See connection.hpp for the contract and docs/design.md for the cancellation rules.
#include "matrx/orm/pg/connection.hpp"

#include <libpq-fe.h>

#include <poll.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <tuple>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/pg/detail/completion.hpp"
#include "matrx/orm/pg/detail/connect_error.hpp"
#include "matrx/orm/pg/detail/secrets.hpp"
#include "matrx/orm/pg/pipeline.hpp"
#include "matrx/orm/pg/sqlstate.hpp"
#include "matrx/orm/pg/session_state.hpp"
#include "matrx/orm/pg/statement_cache.hpp"
#include "cancel_request.hpp"
#include "deadline.hpp"
#include "socket_counters.hpp"

namespace asio = boost::asio;

namespace matrx::orm::pg {
namespace detail {

namespace {
std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}


TransactionState map_tx(PGTransactionStatusType s) {
  switch (s) {
    case PQTRANS_IDLE: return TransactionState::idle;
    case PQTRANS_INTRANS: return TransactionState::in_transaction;
    case PQTRANS_INERROR: return TransactionState::in_error;
    default: return TransactionState::unknown;
  }
}
}  // namespace

struct ExecRequest {
  std::string sql;
  const Params* params = nullptr;
  Format format = Format::binary;
  PGresult* result = nullptr;  // owned until handed to the caller
  std::unique_ptr<Completion<std::exception_ptr, Result>> completion;  // null: internal (DEALLOCATE)
  std::string statement;  // its StatementCache name when sent as a named statement
  std::optional<std::string_view> copy_data;  // COPY … FROM STDIN: the data to send
  bool parsing = false;       // its Parse is in flight ahead of its execution
  bool finished = false;      // its outcome is decided; delivery follows outside the lock
  bool outside_block = false; // sent while no transaction block could be open (resend_if_stale)
  bool resent = false;        // already sent again once after a stale plan
  std::chrono::milliseconds timeout{0};  // per call; 0: the connection's statement_timeout
  std::unique_ptr<boost::asio::steady_timer> deadline;  // armed when a timeout applies
  ~ExecRequest() { if (result) PQclear(result); }
};
using RequestPtr = std::shared_ptr<ExecRequest>;

// Thread-safety: a mutex, not a strand. Every entry point (a caller's submit, the socket's
// read and write handlers, a cancellation, close) takes the lock while it touches libpq and
// the queues, so a query is sent from the caller's own thread without a hop through the
// executor. Results decided under the lock are delivered, and server notices logged, after
// it is released (Locked):
// from the socket's handlers by dispatch, which resumes a coroutine of the same io_context
// inline instead of posting it (one scheduler round trip less per query).
class ConnectionCore : public std::enable_shared_from_this<ConnectionCore> {
  // Holds the lock for one entry point; on release, runs the deliveries it decided.
  class Locked {
   public:
    Locked(ConnectionCore& core, bool deliver_here) : core_(core), lock_(core.mutex_), here_(deliver_here) {}
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;
    ~Locked() {
      if (core_.ready_.empty() && core_.notices_.empty()) return;
      boost::container::small_vector<RequestPtr, 8> ready(std::make_move_iterator(core_.ready_.begin()),
                                                          std::make_move_iterator(core_.ready_.end()));
      core_.ready_.clear();
      auto notices = std::move(core_.notices_);
      core_.notices_.clear();
      lock_.unlock();
      for (auto& [level, text] : notices) log(level, text);  // before the results they precede
      for (auto& req : ready) core_.deliver(req, here_);
    }

   private:
    ConnectionCore& core_;
    std::unique_lock<std::mutex> lock_;
    bool here_;
  };

  // NOTIFY messages read under the lock, handed to the handler after it is released.
  struct NotificationBatch {
    std::vector<std::tuple<std::string, std::string, int>> messages;
    std::shared_ptr<Connection::NotificationHandler> handler;
  };

  void notify(NotificationBatch& notes) {
    if (!notes.handler || !*notes.handler) return;
    for (auto& [channel, payload, pid] : notes.messages) {
      try {
        (*notes.handler)(channel, payload, pid);
      } catch (const std::exception& e) {
        log(LogLevel::warning, fmt::format("a notification handler threw: {}", e.what()));
      }
    }
  }

 public:
  ConnectionCore(asio::any_io_executor ex, PGconn* conn, const ConnectOptions& options)
      : executor_(std::move(ex)), conn_(conn), socket_(executor_, PQsocket(conn)), mode_(options.pooler_mode),
        pid_(PQbackendPID(conn)), socket_fd_(PQsocket(conn)),
        statements_(mode_ == PoolerMode::transaction ? 0 : options.statement_cache_size),
        cancel_mode_(options.cancel_mode), cancel_timeout_(options.cancel_timeout),
        statement_timeout_(options.statement_timeout),
        max_result_bytes_(options.max_result_bytes) {
    if (max_result_bytes_ > 0) received_at_last_result_ = tcp_bytes_received();
    if (PQconninfoOption* info = PQconninfo(conn_)) {
      for (auto* o = info; o->keyword; ++o)
        if (std::string_view(o->keyword) == "target_session_attrs" && o->val) target_session_attrs_ = o->val;
      PQconninfoFree(info);
    }
    PQsetNoticeReceiver(conn_, &ConnectionCore::notice_receiver, this);
  }

  ~ConnectionCore() { close_now(); }

  // --- called from any thread -------------------------------------------------------------
  const asio::any_io_executor& executor() const { return executor_; }
  bool broken() const noexcept { return broken_.load(); }
  bool open() const noexcept { return !closed_.load(); }
  std::size_t pending() const noexcept { return pending_.load(); }
  TransactionState tx() const noexcept { return tx_.load(); }
  bool session_touched() const noexcept { return session_touched_.load(std::memory_order_relaxed); }
  int pid() const noexcept { return pid_; }
  std::size_t largest_message() const noexcept { return largest_message_.load(std::memory_order_relaxed); }
  PoolerMode mode() const noexcept { return mode_; }
  std::chrono::milliseconds statement_timeout() const noexcept { return statement_timeout_; }
  std::string parameter(const char* name) {
    std::lock_guard lock(mutex_);
    if (!conn_) return {};
    const char* v = PQparameterStatus(conn_, name);
    return v ? v : "";
  }

  bool role_matches() {
    const auto& want = target_session_attrs_;
    if (want != "read-write" && want != "read-only" && want != "primary" && want != "standby") return true;
    const bool standby = parameter("in_hot_standby") == "on";
    const bool read_only = standby || parameter("default_transaction_read_only") == "on";
    if (want == "read-write") return !read_only;
    if (want == "read-only") return read_only;
    if (want == "primary") return !standby;
    return standby;
  }

  std::optional<ConnectionError> failure() {
    std::lock_guard lock(mutex_);
    if (!closed_ && !broken_) return std::nullopt;
    return ConnectionError(unusable_reason(), ErrorContext{.sqlstate = broken_sqlstate_});
  }

  // --- entry points: each takes the lock ------------------------------------------------------
  void submit(RequestPtr req) {
    Locked lock(*this, false);
    if (closed_ || broken_) {
      req->completion->complete(connection_error(unusable_reason(), req, broken_sqlstate_), {});
      return;
    }
    queued_.push_back(std::move(req));
    ++pending_;
    pump();
  }

  // The caller gave up on `req` (cancellation), or its deadline `timed_out` passed. Either way
  // it is abandoned: never delivered, cancelled on the server.
  void abandon(const RequestPtr& req, std::chrono::milliseconds timed_out = {}) {
    Locked lock(*this, false);
    if (req->finished || !req->completion || req->completion->done()) return;
    // Built only now: the caller's Params are alive while its call has not completed.
    const std::exception_ptr why = timed_out.count() > 0 ? timeout_error(*req, timed_out) : nullptr;
    for (auto it = queued_.begin(); it != queued_.end(); ++it) {
      if (*it == req) {
        queued_.erase(it);
        --pending_;
        complete_aborted(req, why);
        notify_if_idle();
        return;
      }
    }
    if (copy_ == req) {  // end the COPY with an error: the server rolls its rows back
      copy_abandoned_ = true;
      complete_aborted(req, why);
      return;
    }
    if (in_flight_.abandon_if([&](const RequestPtr& r) { return r == req; })) {
      complete_aborted(req, why);
      maybe_cancel();
    }
  }

  void add_idle_waiter(std::unique_ptr<Completion<std::exception_ptr>> w) {
    Locked lock(*this, false);
    if (pending_ == 0) { w->complete(nullptr); return; }
    idle_waiters_.push_back(std::move(w));
  }

  void add_alive_waiter(std::unique_ptr<Completion<std::exception_ptr, bool>> w) {
    NotificationBatch notes;
    bool alive = false;
    {
      Locked lock(*this, false);
      alive = check_alive(notes);
    }
    notify(notes);
    w->complete(nullptr, alive);
  }

  void close_now() noexcept {
    Locked lock(*this, false);
    close_locked();
  }

  // A LISTEN sent after this call is sent after it, so no notification for it is missed.
  void set_notification_handler(Connection::NotificationHandler handler) {
    Locked lock(*this, false);
    notification_handler_ = std::make_shared<Connection::NotificationHandler>(std::move(handler));
  }

  // Validation on borrow: an idle connection whose server went away has data (an error,
  // then EOF) waiting on its socket; read it now instead of handing the connection out.
  bool check_alive(NotificationBatch& notes) {
    if (broken_ || closed_) return false;
    if (pending_ > 0) return true;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) on_readable(notes);
    return !broken_ && !closed_;
  }

  // Any thread: poll() only looks at the descriptor; a race with close_now() at worst
  // reports "something to read", which sends the caller down the checked path.
  bool nothing_to_read() const noexcept {
    const int fd = socket_fd_;
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  // --- with the lock held ----------------------------------------------------------------------
 private:
  void close_locked() noexcept {
    if (closed_.exchange(true)) return;
    fail_all(std::string(closed_reason), nullptr);
    if (socket_.is_open()) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      socket_.release();  // libpq owns the file descriptor
    }
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }

  static std::exception_ptr connection_error(std::string message, const RequestPtr& req, std::string sqlstate = {}) {
    ErrorContext ctx{.sql = req ? req->sql : "", .sqlstate = std::move(sqlstate)};
    if (req && req->params) ctx.params = req->params->render();
    return std::make_exception_ptr(ConnectionError(std::move(message), std::move(ctx)));
  }

  static std::exception_ptr timeout_error(const ExecRequest& req, std::chrono::milliseconds timeout) {
    ErrorContext ctx{.operation = "query", .sql = req.sql,
                     .hint = "raise the timeout (QuerySet::timeout, DatabaseConfig::statement_timeout) or make the "
                             "statement faster"};
    if (req.params) ctx.params = req.params->render();
    return std::make_exception_ptr(StatementTimeoutError(
        fmt::format("the statement did not finish within its {} ms timeout; it was cancelled", timeout.count()),
        std::move(ctx)));
  }

  void complete_aborted(const RequestPtr& req, std::exception_ptr why = nullptr) {
    if (!req->completion) return;
    if (!why) why = std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted, "query cancelled"));
    req->completion->complete(std::move(why), {});
  }

  // Why a new query cannot run: what broke the connection (and its SQLSTATE, kept by the
  // caller), so a later query reports the lost backend's 57P01 as the first one did.
  std::string unusable_reason() const {
    const bool broke_first = broken_reason_ != closed_reason;
    if (closed_) return broke_first ? "the connection is closed after it broke: " + broken_reason_ : "the connection is closed";
    return "the connection is broken: " + broken_reason_;
  }
  static constexpr std::string_view closed_reason = "the connection was closed";

  bool hold_back() const { return copy_ || cancels_running_ > 0 || in_flight_.any_cancel_requested(); }

  void pump() {
    while (!queued_.empty() && !hold_back() && !broken_) {
      if (queued_.front()->copy_data) {
        if (!in_flight_.empty()) break;  // COPY needs the pipeline drained first
        RequestPtr req = std::move(queued_.front());
        queued_.pop_front();
        start_copy(std::move(req));
        break;
      }
      RequestPtr req = std::move(queued_.front());
      queued_.pop_front();
      if (!send(req)) {
        if (broken_) return;
        continue;
      }
    }
    flush();
    arm_read();
    notify_if_idle();
  }

  // Hands one request and its Sync to libpq: as a prepared statement when the cache knows
  // its shape, with a Parse in front the first time, unnamed otherwise. False if it failed.
  bool send(RequestPtr& req) {
    const Params* p = req->params;
    const int n = p ? static_cast<int>(p->size()) : 0;
    note_message_size(req->sql.size() + (p ? p->byte_size() : 0));
    if (n) p->value_pointers(value_scratch_);
    const Oid* types = n ? p->types() : nullptr;
    const char* const* values = n ? value_scratch_.data() : nullptr;
    const int* lengths = n ? p->lengths() : nullptr;
    const int* formats = n ? p->formats() : nullptr;
    const int result_format = static_cast<int>(req->format);

    StatementCache::Decision how;
    if (req->completion) how = statements_.lookup(req->sql, types, static_cast<std::size_t>(n));
    if (how.evicted) send_internal("DEALLOCATE " + *how.evicted);
    int ok = 1, queries = 1;
    switch (how.use) {
      case StatementCache::Use::unnamed:
        ok = PQsendQueryParams(conn_, req->sql.c_str(), n, types, values, lengths, formats, result_format);
        break;
      case StatementCache::Use::prepare:
        req->parsing = true;
        queries = 2;
        ok = PQsendPrepare(conn_, how.name.c_str(), req->sql.c_str(), n, types);
        if (ok && !PQsendQueryPrepared(conn_, how.name.c_str(), n, values, lengths, formats, result_format)) {
          // The Parse is queued without its execution: the pipeline is out of step.
          in_flight_.push(req, 1);
          fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
          return false;
        }
        break;
      case StatementCache::Use::execute:
        ok = PQsendQueryPrepared(conn_, how.name.c_str(), n, values, lengths, formats, result_format);
        break;
    }
    if (how.use != StatementCache::Use::unnamed) req->statement = std::move(how.name);
    if (!ok) {
      const std::string message = trimmed(PQerrorMessage(conn_));
      if (PQstatus(conn_) == CONNECTION_BAD) {
        queued_.push_front(std::move(req));
        fail_all(message, nullptr);
        return false;
      }
      // libpq refused the query before queueing anything (too many parameters, say):
      // this request fails alone.
      if (req->parsing) statements_.prepared(req->statement, false);
      --pending_;
      ErrorContext ctx{.sql = req->sql};
      if (p) ctx.params = p->render();
      if (req->completion) req->completion->complete(std::make_exception_ptr(QueryError(message, std::move(ctx))), {});
      return false;
    }
    if (StatementCache::drops_statements(req->sql)) {
      statements_.clear();
      if (resets_session(req->sql)) session_touched_.store(false, std::memory_order_relaxed);
    } else if (!session_touched_.load(std::memory_order_relaxed) && touches_session(req->sql)) {
      session_touched_.store(true, std::memory_order_relaxed);  // the pool resets it on return
    }
    req->outside_block = !block_possible_;
    // Only BEGIN or START TRANSACTION opens a block, and neither is a statement worth
    // preparing; what the cache took is a SELECT, INSERT, UPDATE, DELETE, WITH, VALUES or TABLE.
    if (req->completion && how.use == StatementCache::Use::unnamed && !StatementCache::worth_preparing(req->sql))
      block_possible_ = true;
    in_flight_.push(req, queries);
    if (!PQpipelineSync(conn_)) {
      fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
      return false;
    }
    return true;
  }

  // ---- COPY … FROM STDIN ---------------------------------------------------------------
  // libpq does not allow COPY in pipeline mode: with the pipeline drained the connection
  // leaves it, runs the COPY with the plain asynchronous calls, and enters it again.
  // Queries submitted meanwhile wait in queued_ (hold_back).

  void start_copy(RequestPtr req) {
    auto fail_request = [&](std::string message) {
      --pending_;
      req->completion->complete(std::make_exception_ptr(QueryError(std::move(message), ErrorContext{.sql = req->sql})), {});
    };
    if (PQexitPipelineMode(conn_) != 1) return fail_request(trimmed(PQerrorMessage(conn_)));
    if (!PQsendQueryParams(conn_, req->sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) {
      const std::string message = trimmed(PQerrorMessage(conn_));
      if (PQstatus(conn_) == CONNECTION_BAD) {
        queued_.push_front(std::move(req));
        fail_all(message, nullptr);
        return;
      }
      PQenterPipelineMode(conn_);
      return fail_request(message);
    }
    copy_ = std::move(req);
    copy_sent_ = 0;
    copy_phase_ = CopyPhase::starting;
  }

  // Advances the COPY as far as the socket allows: data out, then results in.
  void copy_step() {
    while (copy_ && !broken_ && !closed_) {
      if (copy_phase_ == CopyPhase::sending) {
        const std::string_view data = *copy_->copy_data;
        while (!copy_abandoned_ && copy_sent_ < data.size()) {
          const std::size_t n = std::min<std::size_t>(data.size() - copy_sent_, 256 * 1024);
          const int r = PQputCopyData(conn_, data.data() + copy_sent_, static_cast<int>(n));
          if (r < 0) return fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
          if (r == 0) return wait_writable();
          copy_sent_ += n;
        }
        const int r = PQputCopyEnd(conn_, copy_abandoned_ ? "cancelled by the client" : nullptr);
        if (r < 0) return fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
        if (r == 0) return wait_writable();
        copy_phase_ = CopyPhase::ending;
        flush();
        continue;
      }
      if (!PQconsumeInput(conn_)) return fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
      if (PQisBusy(conn_)) return;  // more input needed: the read watch calls back
      PGresult* r = PQgetResult(conn_);
      if (copy_phase_ == CopyPhase::starting && r && PQresultStatus(r) == PGRES_COPY_IN) {
        PQclear(r);
        copy_phase_ = CopyPhase::sending;
        continue;
      }
      if (r) {  // the COPY's outcome (or the error that refused it); keep the first error
        copy_phase_ = CopyPhase::ending;
        if (copy_->result && PQresultStatus(copy_->result) == PGRES_FATAL_ERROR) PQclear(r);
        else {
          if (copy_->result) PQclear(copy_->result);
          copy_->result = r;
        }
        continue;
      }
      finish_copy();
    }
  }

  void finish_copy() {
    RequestPtr req = std::move(copy_);
    copy_.reset();
    copy_abandoned_ = false;
    if (PQenterPipelineMode(conn_) != 1) return fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
    --pending_;
    drained();
    if (req->completion && !req->completion->done()) decided(std::move(req));
    pump();
  }

  // A statement of the connection's own, with no caller waiting (DEALLOCATE of an evicted
  // statement); its own Sync, so its failure touches nothing else.
  void send_internal(std::string sql) {
    auto req = std::make_shared<ExecRequest>();
    req->sql = std::move(sql);
    if (!PQsendQueryParams(conn_, req->sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) return;
    ++pending_;
    in_flight_.push(std::move(req));
    PQpipelineSync(conn_);
  }

  void flush() {
    if (broken_ || closed_) return;
    const int r = PQflush(conn_);
    if (r < 0) { fail_all(trimmed(PQerrorMessage(conn_)), nullptr); return; }
    if (r == 1) wait_writable();
  }

  // One write wait for both users of the socket's send buffer: libpq's output (flush) and
  // a COPY whose data libpq could not take yet (copy_step).
  void wait_writable() {
    if (writing_) return;
    writing_ = true;
    socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         Locked lock(*self, true);
                         self->writing_ = false;
                         if (ec || self->closed_ || self->broken_) return;
                         if (self->copy_) self->copy_step();
                         self->flush();
                         self->arm_read();
                       });
  }

  // A read wait stays armed for the connection's whole life: results, notices, and a
  // server that goes away while the connection is idle in a pool are all noticed.
  void arm_read() {
    if (reading_ || broken_ || closed_) return;
    reading_ = true;
    socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         NotificationBatch notes;
                         {
                           Locked lock(*self, true);
                           self->reading_ = false;
                           if (ec || self->closed_ || self->broken_) return;
                           self->on_readable(notes);
                         }
                         self->notify(notes);
                       });
  }

  static void notice_receiver(void* arg, const PGresult* result) {
    static_cast<ConnectionCore*>(arg)->on_notice(result);
  }

  void on_notice(const PGresult* result) {
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    const std::string_view sev = severity ? severity : "NOTICE";
    const std::string message = trimmed(PQresultErrorMessage(result));
    // libpq reports an error that arrives while no query runs (e.g. 57P01 when the
    // backend is terminated while idle) as a notice: the connection is finished.
    if (sev == "FATAL" || sev == "PANIC") {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
      fatal_sqlstate_ = state ? state : "";
      fatal_message_ = primary ? primary : message;
      notices_.emplace_back(LogLevel::warning, fmt::format("server closed an idle connection: {}", message));
      return;
    }
    const LogLevel level = sev == "WARNING" ? LogLevel::warning : sev == "DEBUG" || sev == "LOG" ? LogLevel::debug
                                                                                                  : LogLevel::notice;
    notices_.emplace_back(level, fmt::format("server {}: {}", sev, message));
  }

  // Reads what arrived. Notifications are collected in `notes`: the caller hands them to
  // the user's handler after unlocking.
  void on_readable(NotificationBatch& notes) {
    if (max_result_bytes_ > 0 && result_too_large()) return;
    const bool ok = PQconsumeInput(conn_) == 1;
    // PQconsumeInput only buffers; PQisBusy parses, which delivers messages that arrive
    // while idle (a FATAL error reaches on_notice) even when no query is in flight.
    if (ok) PQisBusy(conn_);
    if (!fatal_message_.empty()) {
      fail_all(fatal_message_, nullptr, fatal_sqlstate_);
      return;
    }
    if (!ok) {
      fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
      return;
    }
    try {
      if (copy_) copy_step();
      else process_results();
    } catch (const std::logic_error& e) {
      fail_all(fmt::format("protocol error: {}", e.what()), nullptr);
      return;
    }
    while (PGnotify* n = PQnotifies(conn_)) {
      if (notification_handler_) notes.messages.emplace_back(n->relname, n->extra ? n->extra : "", n->be_pid);
      PQfreemem(n);
    }
    if (!notes.messages.empty()) notes.handler = notification_handler_;
    if (PQstatus(conn_) == CONNECTION_BAD) {
      fail_all(trimmed(PQerrorMessage(conn_)), nullptr);
      return;
    }
    flush();
    arm_read();
  }

  void process_results() {
    while (!in_flight_.empty() && !PQisBusy(conn_)) {
      PGresult* r = PQgetResult(conn_);
      if (!r) {
        auto* entry = in_flight_.on_event(PipelineEvent::end_of_query);
        if (entry->queries_left == 1) entry->item->parsing = false;
        continue;
      }
      if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        auto* entry = in_flight_.on_event(PipelineEvent::sync);
        finish(*entry);
        continue;
      }
      auto* entry = in_flight_.on_event(PipelineEvent::result);
      ExecRequest& req = *entry->item;
      if (req.parsing && entry->queries_left == 2) {  // the answer to the Parse
        const bool parsed = PQresultStatus(r) == PGRES_COMMAND_OK;
        statements_.prepared(req.statement, parsed);
        if (parsed) { PQclear(r); continue; }
      }
      const std::size_t result_size = PQresultMemorySize(r);
      note_message_size(result_size);
      if (max_result_bytes_ > 0) {
        received_at_last_result_ = tcp_bytes_received();
        if (result_size > max_result_bytes_ && !entry->abandoned) {
          PQclear(r);
          refuse_large_result();
          return;
        }
      }
      if (entry->abandoned || !req.completion) { PQclear(r); continue; }
      // Keep the first error if several results arrive; otherwise the latest result.
      if (req.result && PQresultStatus(req.result) == PGRES_FATAL_ERROR) { PQclear(r); continue; }
      if (req.result) PQclear(req.result);
      req.result = r;
    }
  }

  void finish(PipelineQueue<RequestPtr>::Entry& entry) {
    --pending_;
    if (in_flight_.empty()) drained();
    RequestPtr req = std::move(entry.item);
    if (!entry.abandoned && req->completion && !resend_if_stale(req)) decided(std::move(req));
    maybe_cancel();
    pump();
  }

  // Nothing in flight: libpq reports the transaction state again (mid-pipeline it says
  // "active"), and it tells whether a block is open.
  void drained() {
    tx_ = map_tx(PQtransactionStatus(conn_));
    block_possible_ = tx_.load() != TransactionState::idle;
  }

  // A plan gone stale (ALTER TABLE changed its result type: 0A000) or a prepared statement
  // the server no longer has (26000) fails before the statement does anything. When no
  // transaction block was open, that failure rolled nothing back: the statement is prepared
  // afresh and sent again, once, so a migration does not fail one query per connection and
  // shape. Inside a block the failure has aborted the transaction; it is reported (with a hint).
  bool resend_if_stale(RequestPtr& req) {
    if (!req->result || PQresultStatus(req->result) != PGRES_FATAL_ERROR) return false;  // the usual case
    if (req->resent || !req->outside_block || req->statement.empty() || !is_stale_statement(req->result)) return false;
    forget_stale(req->statement, req->result);
    PQclear(std::exchange(req->result, nullptr));
    req->statement.clear();
    req->parsing = false;
    req->resent = true;
    queued_.push_front(std::move(req));
    ++pending_;
    return true;
  }

  static bool is_stale_statement(const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (!state) return false;
    const std::string_view code = state;
    if (code == "26000") return true;
    // 0A000 is "feature not supported" in general; only plancache.c's check means a stale plan.
    const char* routine = PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION);
    return code == "0A000" && routine && std::string_view(routine) == "RevalidateCachedQuery";
  }

  // The request's outcome is in; it is delivered once the lock is released.
  void decided(RequestPtr req) {
    req->finished = true;
    if (req->result && !req->statement.empty() && is_error(PQresultStatus(req->result)))
      forget_stale(req->statement, req->result);
    ready_.push_back(std::move(req));
  }

  static bool is_error(ExecStatusType status) {
    return status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR;
  }

  // Without the lock: the request is no longer in any queue, so nothing else touches it.
  void deliver(const RequestPtr& req, bool here) noexcept {
    auto complete = [&](std::exception_ptr error, Result result) {
      if (here) req->completion->complete_here(std::move(error), std::move(result));
      else req->completion->complete(std::move(error), std::move(result));
    };
    PGresult* r = std::exchange(req->result, nullptr);
    if (!r) {
      complete(std::make_exception_ptr(QueryError("the server returned no result", ErrorContext{.sql = req->sql})), {});
      return;
    }
    if (is_error(PQresultStatus(r))) {
      Result owner(r);  // frees r
      std::exception_ptr error;
      try {
        ErrorContext ctx{.sql = req->sql};
        if (req->params) ctx.params = req->params->render();
        if (!req->outside_block && !req->statement.empty() && is_stale_statement(r))
          ctx.hint = "the table changed after this connection prepared the statement, and a transaction may be "
                     "open: roll the transaction back and run it again (the statement is prepared afresh)";
        throw_server_error(r, std::move(ctx));
      } catch (...) {
        error = std::current_exception();
      }
      complete(error, {});
      return;
    }
    complete(nullptr, Result(r));
  }

  // A prepared statement whose plan no longer fits the table (0A000 "cached plan must not
  // change result type" after ALTER TABLE) or that vanished on the server (26000): prepare
  // it afresh next time (resend_if_stale does so at once when it can).
  void forget_stale(const std::string& name, const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (!state) return;
    const std::string_view code = state;
    if (code != "0A000" && code != "26000") return;
    if (statements_.forget(name) && code == "0A000") {
      send_internal("DEALLOCATE " + name);
      flush();
    }
  }

  // Cancel on the server only when the abandoned query is the last in flight: a cancel
  // arriving late can then only find an idle backend (new queries wait, see hold_back).
  // A cancel that cannot be delivered in time discards the connection: its backend may still
  // be running the abandoned query, so nothing else may be sent on it.
  void maybe_cancel() {
    if (broken_ || closed_ || !in_flight_.head_cancellable()) return;
    in_flight_.head().cancel_requested = true;
    PGcancel* cancel = PQgetCancel(conn_);
    if (cancel_mode_ == CancelMode::discard || !cancel || !can_send_cancel(cancel, pid_)) {
      if (cancel) PQfreeCancel(cancel);
      discard_locked(cancel_mode_ == CancelMode::discard
                         ? "a query was abandoned; the connection was discarded instead of cancelled (cancel_mode = discard)"
                         : "a query was abandoned and this libpq cannot send a cancel request without blocking; "
                           "the connection was discarded");
      return;
    }
    ++cancels_running_;
    send_cancel(executor_, cancel, pid_, cancel_timeout_, [self = shared_from_this()](std::string failure) {
      Locked lock(*self, true);
      --self->cancels_running_;
      if (self->closed_) return;
      if (failure.empty()) {
        self->pump();
        return;
      }
      self->notices_.emplace_back(LogLevel::warning, fmt::format("backend {}: {}; the connection was discarded", self->pid_, failure));
      self->discard_locked(fmt::format("{}; the connection was discarded (its backend may still run the abandoned query)", failure));
    });
  }

  // max_result_bytes over TCP: the kernel's count of bytes received on the socket (TCP_INFO),
  // since the last result arrived, checked at each wake-up before libpq reads more. Past the
  // limit the query fails and the connection is discarded: the only way to stop a result
  // mid-stream. (One read may bring up to the largest single value; on a Unix socket, which
  // has no such counter, the finished result is checked instead: result_exceeds_limit.)
  std::uint64_t tcp_bytes_received() const noexcept { return detail::tcp_bytes_received(socket_fd_); }

  bool result_too_large() {
    if (in_flight_.empty() || copy_) return false;
    const std::uint64_t received = tcp_bytes_received();
    if (received == 0 || received - received_at_last_result_ <= max_result_bytes_) return false;
    refuse_large_result();
    return true;
  }

  void refuse_large_result() {
    const auto message = fmt::format("the result exceeds max_result_bytes ({} bytes); the connection was discarded",
                                     max_result_bytes_);
    auto& head = in_flight_.head();
    if (!head.abandoned && head.item->completion && !head.item->completion->done()) {
      ErrorContext ctx{.operation = "query", .sql = head.item->sql,
                       .hint = "select fewer rows or columns, stream with a cursor, or raise ConnectOptions::max_result_bytes"};
      if (head.item->params) ctx.params = head.item->params->render();
      head.item->completion->complete(std::make_exception_ptr(ResultTooLargeError(message, std::move(ctx))), {});
      head.abandoned = true;
    }
    discard_locked(message);
  }

  void note_message_size(std::size_t bytes) noexcept {
    if (bytes > largest_message_.load(std::memory_order_relaxed)) largest_message_.store(bytes, std::memory_order_relaxed);
  }

  // Fails everything queued or in flight with `reason` and closes the connection at once.
  void discard_locked(const std::string& reason) {
    fail_all(reason, nullptr);
    close_locked();
  }

  void notify_if_idle() {
    if (pending_ != 0) return;
    auto waiters = std::move(idle_waiters_);
    idle_waiters_.clear();
    for (auto& w : waiters) w->complete(nullptr);
  }

  // The connection is unusable: every waiter fails with ConnectionError. A query whose
  // error result (e.g. 57P01 admin shutdown) already arrived reports that SQLSTATE.
  void fail_all(const std::string& reason, const RequestPtr&, const std::string& reason_sqlstate = {}) {
    const bool first = !broken_.exchange(true);
    if (first) {
      broken_reason_ = reason;
      broken_sqlstate_ = reason_sqlstate;
    }
    auto entries = in_flight_.take_all();
    for (auto& e : entries) {
      std::string message = reason, sqlstate = reason_sqlstate;
      if (e.item->result && PQresultStatus(e.item->result) == PGRES_FATAL_ERROR) {
        if (const char* s = PQresultErrorField(e.item->result, PG_DIAG_SQLSTATE)) sqlstate = s;
        if (const char* m = PQresultErrorField(e.item->result, PG_DIAG_MESSAGE_PRIMARY)) message = m;
        // The server's own reason (57P01 terminated, …) is what later queries report too.
        if (first && broken_sqlstate_.empty() && (sqlstate.starts_with("57P") || sqlstate.starts_with("08"))) {
          broken_reason_ = message;
          broken_sqlstate_ = sqlstate;
        }
      }
      if (e.abandoned || !e.item->completion) continue;
      e.item->completion->complete(connection_error(message.empty() ? "connection lost" : message, e.item, sqlstate), {});
    }
    if (copy_) {
      if (!copy_->completion->done()) copy_->completion->complete(connection_error(reason, copy_, reason_sqlstate), {});
      copy_.reset();
    }
    for (auto& req : queued_) req->completion->complete(connection_error(reason, req, reason_sqlstate), {});
    queued_.clear();
    pending_ = 0;
    tx_ = TransactionState::unknown;
    notify_if_idle();
  }

  asio::any_io_executor executor_;
  std::mutex mutex_;  // see the class comment
  std::vector<RequestPtr> ready_;  // decided under the lock, delivered after it (Locked)
  // Server notices, parsed by libpq under the lock and logged after it (Locked): a log hook
  // may call back into this connection without deadlocking.
  std::vector<std::pair<LogLevel, std::string>> notices_;
  PGconn* conn_;
  asio::posix::stream_descriptor socket_;
  PoolerMode mode_;
  int pid_;
  int socket_fd_;  // libpq's descriptor, fixed once connected
  StatementCache statements_;
  std::deque<RequestPtr> queued_;
  PipelineQueue<RequestPtr> in_flight_;
  std::vector<const char*> value_scratch_;  // parameter pointers for libpq, reused
  std::vector<std::unique_ptr<Completion<std::exception_ptr>>> idle_waiters_;
  bool reading_ = false, writing_ = false;
  enum class CopyPhase { starting, sending, ending };
  RequestPtr copy_;  // the COPY running outside pipeline mode, if any
  CopyPhase copy_phase_ = CopyPhase::starting;
  std::size_t copy_sent_ = 0;
  bool copy_abandoned_ = false;
  int cancels_running_ = 0;
  CancelMode cancel_mode_;
  std::chrono::milliseconds cancel_timeout_;
  std::chrono::milliseconds statement_timeout_;
  std::size_t max_result_bytes_;
  std::uint64_t received_at_last_result_ = 0;  // TCP_INFO's count when the last result arrived
  std::atomic<std::size_t> largest_message_{0};  // libpq's buffers keep this size until closed
  std::string broken_reason_, broken_sqlstate_;
  std::string target_session_attrs_;  // as libpq resolved it (URL, keyword or PGTARGETSESSIONATTRS)
  std::string fatal_message_, fatal_sqlstate_;  // FATAL received while idle
  std::shared_ptr<Connection::NotificationHandler> notification_handler_;
  std::atomic<bool> broken_{false}, closed_{false};
  std::atomic<std::size_t> pending_{0};
  std::atomic<TransactionState> tx_{TransactionState::idle};
  std::atomic<bool> session_touched_{false};  // a statement left session state (session_state.hpp)
  // A statement sent since the pipeline last drained idle may have opened a transaction block.
  bool block_possible_ = false;
};

}  // namespace detail

// ---- Connection ---------------------------------------------------------------------------

namespace {
struct ConnGuard {
  PGconn* conn;
  ~ConnGuard() { if (conn) PQfinish(conn); }
};
struct ReleaseGuard {
  asio::posix::stream_descriptor& d;
  ~ReleaseGuard() {
    if (d.is_open()) {
      boost::system::error_code ignored;
      d.cancel(ignored);
      d.release();
    }
  }
};
}  // namespace

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    core_ = std::move(other.core_);
  }
  return *this;
}

Connection::~Connection() { close(); }

void Connection::close() noexcept {
  if (!core_) return;
  auto core = std::move(core_);
  core->close_now();
}

asio::awaitable<Connection> Connection::connect(ConnectOptions options) {
  co_return co_await connect(co_await asio::this_coro::executor, std::move(options));
}

asio::awaitable<Connection> Connection::connect(asio::any_io_executor ex, ConnectOptions options) {
  if (options.connect_timeout.count() <= 0) throw ConfigurationError("connect_timeout must be positive");
  if (options.cancel_timeout.count() <= 0) throw ConfigurationError("cancel_timeout must be positive");
  if (options.statement_timeout.count() < 0)
    throw ConfigurationError("statement_timeout must be 0 (none) or positive");
  std::vector<const char*> keys, values;
  if (!options.conninfo.empty()) { keys.push_back("dbname"); values.push_back(options.conninfo.c_str()); }
  for (const auto& [k, v] : options.keywords) { keys.push_back(k.c_str()); values.push_back(v.c_str()); }
  if (!options.password.empty()) { keys.push_back("password"); values.push_back(options.password.c_str()); }
  keys.push_back("client_encoding"); values.push_back("UTF8");
  keys.push_back("fallback_application_name"); values.push_back("matrx-orm");
  keys.push_back(nullptr); values.push_back(nullptr);

  auto redact = [&](const char* message) { return detail::redact_secrets(detail::trimmed(message), options); };

  ConnGuard guard{PQconnectStartParams(keys.data(), values.data(), 1)};
  if (!guard.conn) throw ConnectionError("out of memory allocating a libpq connection");
  if (PQstatus(guard.conn) == CONNECTION_BAD)
    throw ConfigurationError(fmt::format("invalid connection settings: {}", redact(PQerrorMessage(guard.conn))),
                             ErrorContext{.operation = "connect"});

  // Verbose while connecting, so that a refusal's text carries its SQLSTATE (connect_error.hpp).
  PQsetErrorVerbosity(guard.conn, PQERRORS_VERBOSE);
  const auto connect_deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) {
      auto failure = detail::parse_connect_failure(redact(PQerrorMessage(guard.conn)));
      ErrorContext ctx{.operation = "connect", .sqlstate = failure.sqlstate};
      auto message = fmt::format("could not connect: {}", failure.message);
      if (failure.sqlstate.starts_with("28")) throw AuthenticationError(std::move(message), std::move(ctx));
      throw ConnectionError(std::move(message), std::move(ctx));
    }
    const int fd = PQsocket(guard.conn);
    if (fd < 0) throw ConnectionError("could not connect: libpq has no socket", ErrorContext{.operation = "connect"});
    // The socket can change between polls (several hosts, SSL fallback): a new descriptor each time.
    asio::posix::stream_descriptor socket(ex, fd);
    ReleaseGuard release{socket};
    const auto wait = status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                      : asio::posix::stream_descriptor::wait_write;
    // The deadline cancels the wait (detail::Deadline: not `wait || timer`).
    detail::Deadline deadline(ex, connect_deadline - std::chrono::steady_clock::now(), [&socket] {
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
    boost::system::error_code waited;
    co_await socket.async_wait(wait, asio::redirect_error(asio::use_awaitable, waited));
    const bool timed_out = deadline.disarm();
    if (timed_out)
      throw ConnectionError(fmt::format("could not connect within {} ms", options.connect_timeout.count()),
                            ErrorContext{.operation = "connect"});
    if (waited) throw boost::system::system_error(waited, "connect: waiting on the socket");
    status = PQconnectPoll(guard.conn);
  }

  PQsetErrorVerbosity(guard.conn, PQERRORS_DEFAULT);
  if (PQsetnonblocking(guard.conn, 1) != 0 || PQenterPipelineMode(guard.conn) != 1)
    throw ConnectionError(fmt::format("could not configure the connection: {}", redact(PQerrorMessage(guard.conn))));
  auto core = std::make_shared<detail::ConnectionCore>(ex, std::exchange(guard.conn, nullptr), options);
  co_return Connection(std::move(core));
}

namespace {
// A timer on the connection's executor abandons the request at its deadline, under the
// connection's lock like any cancellation (so it cannot race the result). Weak references: a
// request that finished first is gone, or found finished, and nothing happens.
void arm_deadline(const std::shared_ptr<detail::ConnectionCore>& core, const std::shared_ptr<detail::ExecRequest>& req) {
  const auto timeout = req->timeout.count() > 0 ? req->timeout : core->statement_timeout();
  if (timeout.count() <= 0) return;
  req->deadline = std::make_unique<asio::steady_timer>(core->executor(), timeout);
  std::weak_ptr<detail::ExecRequest> weak = req;
  std::weak_ptr<detail::ConnectionCore> weak_core = core;
  req->deadline->async_wait([weak_core, weak, timeout](boost::system::error_code ec) {
    if (ec) return;
    auto c = weak_core.lock();
    auto r = weak.lock();
    if (c && r) c->abandon(r, timeout);
  });
}

// Hands a request to the connection (sent from this thread) and completes with its result;
// cancellation abandons it. A plain function, not a coroutine: the caller's co_await is the only
// frame (each frame the hot path avoids is an allocation).
asio::awaitable<Result> submit_request(std::shared_ptr<detail::ConnectionCore> core, std::shared_ptr<detail::ExecRequest> req) {
  auto initiation = [core, req](auto handler) {
    using Handler = decltype(handler);
    req->completion = std::make_unique<detail::CompletionFor<Handler, std::exception_ptr, Result>>(std::move(handler),
                                                                                                   core->executor());
    auto& slot = req->completion->slot();
    if (slot.is_connected()) {
      // Weak references only: the handler may outlive the query (see Completion::complete);
      // a late emit finds the request finished and does nothing.
      std::weak_ptr<detail::ExecRequest> weak = req;
      std::weak_ptr<detail::ConnectionCore> weak_core = core;
      slot.assign([weak_core, weak](asio::cancellation_type) {
        auto c = weak_core.lock();
        auto r = weak.lock();
        if (c && r) c->abandon(r);
      });
    }
    arm_deadline(core, req);
    core->submit(req);
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(initiation,
                                                                                                asio::use_awaitable);
}
}  // namespace

asio::awaitable<Result> Connection::execute(std::string_view sql, const Params& params, Format result_format) {
  if (!core_) throw ConnectionError("execute() on a closed or moved-from connection");
  auto req = std::make_shared<detail::ExecRequest>();
  req->sql.assign(sql);
  req->params = params.empty() ? nullptr : &params;
  req->format = result_format;
  return submit_request(core_, std::move(req));
}

asio::awaitable<Result> Connection::execute(std::string_view sql, const Params& params, Format result_format,
                                            std::chrono::milliseconds timeout) {
  if (!core_) throw ConnectionError("execute() on a closed or moved-from connection");
  auto req = std::make_shared<detail::ExecRequest>();
  req->sql.assign(sql);
  req->params = params.empty() ? nullptr : &params;
  req->format = result_format;
  req->timeout = timeout;
  return submit_request(core_, std::move(req));
}

asio::awaitable<Result> Connection::copy_in(std::string_view copy_sql, std::string_view data) {
  if (!core_) throw ConnectionError("copy_in() on a closed or moved-from connection");
  auto req = std::make_shared<detail::ExecRequest>();
  req->sql.assign(copy_sql);
  req->copy_data = data;
  return submit_request(core_, std::move(req));
}

asio::awaitable<Result> Connection::execute(std::string_view sql, Format result_format) {
  const Params none;
  co_return co_await execute(sql, none, result_format);
}

asio::awaitable<void> Connection::wait_idle() {
  if (!core_) co_return;
  auto core = core_;
  auto initiation = [core](auto handler) {
        using Handler = decltype(handler);
        std::unique_ptr<detail::Completion<std::exception_ptr>> w =
            std::make_unique<detail::CompletionFor<Handler, std::exception_ptr>>(std::move(handler), core->executor());
        w->slot().clear();  // not cancellable by design: callers bound it with a timer
        core->add_idle_waiter(std::move(w));
      };
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(initiation, asio::use_awaitable);
}

asio::awaitable<bool> Connection::check_alive() {
  if (!core_) co_return false;
  auto core = core_;
  // Fast path, no lock: nothing waiting on an idle socket means nothing to read (poll() on
  // a descriptor is safe from any thread). Otherwise read it under the lock.
  if (ready_for_reuse()) co_return true;
  auto initiation = [core](auto handler) {
    using Handler = decltype(handler);
    std::unique_ptr<detail::Completion<std::exception_ptr, bool>> w =
        std::make_unique<detail::CompletionFor<Handler, std::exception_ptr, bool>>(std::move(handler), core->executor());
    w->slot().clear();
    core->add_alive_waiter(std::move(w));
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, bool)>(
      initiation, asio::use_awaitable);
}

bool Connection::ready_for_reuse() const noexcept {
  return core_ && !core_->broken() && core_->open() && core_->pending() == 0 && core_->nothing_to_read();
}
bool Connection::is_open() const noexcept { return core_ && core_->open(); }
bool Connection::is_broken() const noexcept { return !core_ || core_->broken(); }
TransactionState Connection::transaction_state() const noexcept {
  return core_ ? core_->tx() : TransactionState::unknown;
}
std::optional<ConnectionError> Connection::failure() const {
  if (!core_) return ConnectionError("the connection is closed or moved from");
  return core_->failure();
}
std::size_t Connection::largest_message() const noexcept { return core_ ? core_->largest_message() : 0; }
std::size_t Connection::pending() const noexcept { return core_ ? core_->pending() : 0; }
int Connection::backend_pid() const noexcept { return core_ ? core_->pid() : 0; }
void Connection::on_notification(NotificationHandler handler) {
  if (core_) core_->set_notification_handler(std::move(handler));
}
bool Connection::session_touched() const noexcept { return core_ && core_->session_touched(); }
PoolerMode Connection::pooler_mode() const noexcept { return core_ ? core_->mode() : PoolerMode::session; }
bool Connection::role_matches() const { return !core_ || core_->role_matches(); }
std::string Connection::server_parameter(const char* name) const { return core_ ? core_->parameter(name) : ""; }

}  // namespace matrx::orm::pg
