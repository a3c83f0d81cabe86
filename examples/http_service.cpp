// An async JSON service on Boost.Beast, the kind of program this library is for: notes that
// clients list, read, create and update. Several io threads, a transaction per writing request,
// a deadline on every statement, and a graceful stop on SIGTERM or SIGINT. docs/services.md
// explains each choice; tests/integration/test_http_service.cpp drives it.
//
//   DATABASE_URL=postgresql://… http_service [--port N] [--threads N]
//
//   GET /notes          every note, by id          POST /notes     {"title": …, "body": …}
//   GET /notes/{id}     one note (404)             PUT  /notes/{id} {"title": …, "body": …}
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "matrx/orm.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace orm = matrx::orm;
namespace pg = matrx::orm::pg;
using asio::ip::tcp;
using namespace std::chrono_literals;
using orm::col;

struct Note {
  std::int64_t id = 0;
  std::string title{};
  std::string body{};
  std::int32_t revision = 0;
};
MATRX_MODEL(Note, orm::table("service_note"),
            (id, orm::primary_key, orm::identity),
            (title, orm::max_length(200)),
            (body),
            (revision))

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {
nlohmann::json to_json(const Note& n) {
  return {{"id", n.id}, {"title", n.title}, {"body", n.body}, {"revision", n.revision}};
}

Response reply(const Request& req, http::status status, const nlohmann::json& body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

Response error(const Request& req, http::status status, std::string message) {
  return reply(req, status, {{"error", std::move(message)}});
}

std::optional<std::int64_t> id_in(std::string_view target) {
  constexpr std::string_view prefix = "/notes/";
  if (!target.starts_with(prefix)) return std::nullopt;
  target.remove_prefix(prefix.size());
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(target.data(), target.data() + target.size(), id);
  if (ec != std::errc{} || end != target.data() + target.size()) return std::nullopt;
  return id;
}

// The request body as {"title": string, "body": string}; nullopt when it is not that.
std::optional<Note> note_in(const Request& req) {
  const auto j = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("title") || !j["title"].is_string()) return std::nullopt;
  Note n;
  n.title = j["title"].get<std::string>();
  if (j.contains("body")) {
    if (!j["body"].is_string()) return std::nullopt;
    n.body = j["body"].get<std::string>();
  }
  return n;
}

// [handlers-begin]
// Reads run as single statements (pipelined with other requests' on shared connections), each
// with a deadline; writes run in a transaction of their own.
asio::awaitable<Response> list_notes(const Request& req) {
  const auto notes = orm::objects<Note>().order_by("id").timeout(2s);
  const std::vector<Note> all = co_await notes.all();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : all) out.push_back(to_json(n));
  co_return reply(req, http::status::ok, out);
}

asio::awaitable<Response> get_note(const Request& req, std::int64_t id) {
  const auto query = orm::objects<Note>().filter(col<&Note::id> == id).timeout(2s);
  const std::optional<Note> note = co_await query.first();
  if (!note) co_return error(req, http::status::not_found, "no such note");
  co_return reply(req, http::status::ok, to_json(*note));
}

asio::awaitable<Note> create_note(Note note) {
  co_await orm::create(note);
  co_return note;
}

// Locks the row, so that concurrent updates of one note count every revision.
asio::awaitable<std::optional<Note>> update_note(std::int64_t id, Note changes) {
  const auto query = orm::objects<Note>().filter(col<&Note::id> == id).select_for_update().timeout(2s);
  std::optional<Note> note = co_await query.first();
  if (!note) co_return std::nullopt;
  note->title = std::move(changes.title);
  note->body = std::move(changes.body);
  note->revision += 1;
  co_await orm::save(*note);
  co_return note;
}
// [handlers-end]

asio::awaitable<Response> route(const Request& req) {
  const std::string_view target = req.target();
  if (target == "/notes") {
    if (req.method() == http::verb::get) co_return co_await list_notes(req);
    if (req.method() == http::verb::post) {
      auto note = note_in(req);
      if (!note) co_return error(req, http::status::bad_request, R"(expected {"title": string, "body": string})");
      const Note created = co_await orm::transaction(create_note(std::move(*note)));
      co_return reply(req, http::status::created, to_json(created));
    }
    co_return error(req, http::status::method_not_allowed, "GET or POST");
  }
  const auto id = id_in(target);
  if (!id) co_return error(req, http::status::not_found, "no such resource");
  if (req.method() == http::verb::get) co_return co_await get_note(req, *id);
  if (req.method() == http::verb::put) {
    auto changes = note_in(req);
    if (!changes) co_return error(req, http::status::bad_request, R"(expected {"title": string, "body": string})");
    const std::optional<Note> updated = co_await orm::transaction(update_note(*id, std::move(*changes)));
    if (!updated) co_return error(req, http::status::not_found, "no such note");
    co_return reply(req, http::status::ok, to_json(*updated));
  }
  co_return error(req, http::status::method_not_allowed, "GET or PUT");
}

// [errors-begin]
// What a client may see of a failure: its kind, never the SQL or the parameters (the log has them).
asio::awaitable<Response> handle(const Request& req) {
  std::optional<Response> failed;
  try {
    co_return co_await route(req);
  } catch (const orm::ValidationError& e) {
    failed = error(req, http::status::unprocessable_entity, e.what());
  } catch (const orm::QueryCanceledError&) {  // a statement's deadline (StatementTimeoutError) or the server's
    failed = error(req, http::status::service_unavailable, "the database did not answer in time");
  } catch (const orm::PoolTimeoutError&) {
    failed = error(req, http::status::service_unavailable, "no database connection free");
  } catch (const orm::CommitOutcomeUnknown&) {
    failed = error(req, http::status::internal_server_error, "the change may or may not be stored");
  } catch (const std::exception& e) {
    std::cerr << "http_service: " << e.what() << "\n";
    failed = error(req, http::status::internal_server_error, "internal error");
  }
  failed->set(http::field::retry_after, "1");
  co_return std::move(*failed);
}
// [errors-end]

// Sessions in progress, so that a stop can let them finish their request and close the rest.
class Server {
 public:
  Server(asio::io_context& io, tcp::endpoint where) : io_(io), acceptor_(asio::make_strand(io), where) {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  asio::awaitable<void> accept() {
    for (;;) {
      tcp::socket socket(asio::make_strand(io_));  // one strand per session: its handlers never overlap
      boost::system::error_code ec;
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // closed by stop()
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
        sessions_.insert(stream);
      }
      asio::co_spawn(stream->get_executor(), session(stream), asio::detached);
    }
    finish_if_done();
  }

  // SIGTERM/SIGINT: accept nothing more, end idle sessions, let the busy ones answer.
  void stop() {
    std::vector<std::shared_ptr<beast::tcp_stream>> open;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      open.assign(sessions_.begin(), sessions_.end());
    }
    asio::post(acceptor_.get_executor(), [this] { acceptor_.close(); });
    for (auto& s : open)  // on the session's strand; a session between requests waits in read
      asio::post(s->get_executor(), [s] { s->cancel(); });
  }

 private:
  asio::awaitable<void> session(std::shared_ptr<beast::tcp_stream> stream) {
    beast::flat_buffer buffer;
    try {
      for (;;) {
        Request req;
        stream->expires_after(30s);  // an idle client is dropped after 30 s
        co_await http::async_read(*stream, buffer, req, asio::use_awaitable);
        Response res = co_await handle(req);
        if (stopping()) res.keep_alive(false);
        co_await http::async_write(*stream, res, asio::use_awaitable);
        if (!res.keep_alive()) break;
      }
    } catch (const boost::system::system_error&) {
      // The client went away, timed out, or stop() cancelled the wait for its next request.
    }
    boost::system::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    {
      std::lock_guard lock(mutex_);
      sessions_.erase(stream);
    }
    finish_if_done();
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // The last session gone after a stop: close the pools, and io_context::run() returns on
  // every thread (idle pooled connections keep it busy until then).
  void finish_if_done() {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_ || !sessions_.empty() || finished_) return;
      finished_ = true;
    }
    pg::close_all_databases();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::mutex mutex_;
  std::set<std::shared_ptr<beast::tcp_stream>> sessions_;
  bool stopping_ = false, finished_ = false;
};

int option(int argc, char** argv, std::string_view name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return fallback;
}
}  // namespace

int main(int argc, char** argv) {
  const char* url = std::getenv("DATABASE_URL");
  if (!url) {
    std::cerr << "http_service: set DATABASE_URL\n";
    return 2;
  }
  const int threads = std::max(1, option(argc, argv, "--threads", 4));
  const auto port = static_cast<std::uint16_t>(option(argc, argv, "--port", 0));

  // [setup-begin]
  pg::DatabaseConfig config = pg::DatabaseConfig::from_url("main", url);
  config.pool.max_size = 8;
  config.statement_timeout = 5s;  // every statement; the reads above set 2 s for themselves
  pg::register_database(config);

  asio::io_context io(threads);
  // The pool runs on the executor of its first user: bind it to the io_context itself, not to
  // the strand of whichever session happens to query first.
  pg::database("main").pool(io.get_executor());
  // [setup-end]

  Server server(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) server.stop();
  });

  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await orm::raw_sql("CREATE TABLE IF NOT EXISTS service_note (id bigint GENERATED BY DEFAULT AS IDENTITY "
                              "PRIMARY KEY, title varchar(200) NOT NULL, body text NOT NULL, revision integer NOT NULL)");
        std::cout << "http_service: listening on 127.0.0.1:" << server.port() << std::endl;
        co_await server.accept();
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        failure = e;
        signals.cancel();
        server.stop();
        pg::close_all_databases();
      });

  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& w : workers) w.join();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "http_service: " << e.what() << "\n";
    }
    return 1;
  }
  std::cout << "http_service: stopped" << std::endl;
  return 0;
}
