// examples/http_service as its clients see it: the process started on a free loopback port,
// 16 clients at once over keep-alive connections, every answer and the stored rows checked,
// then SIGTERM and a clean exit.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db_fixture.hpp"

extern char** environ;

namespace beast = boost::beast;
namespace http = beast::http;
using test::asio::awaitable;
using tcp = boost::asio::ip::tcp;

namespace {
// The service as a child process whose standard output the test reads.
struct Service {
  pid_t pid = -1;
  FILE* out = nullptr;
  int port = 0;

  Service() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char* argv[] = {const_cast<char*>(MATRX_TEST_HTTP_SERVICE), const_cast<char*>("--threads"),
                    const_cast<char*>("4"), nullptr};
    REQUIRE(posix_spawn(&pid, MATRX_TEST_HTTP_SERVICE, &actions, nullptr, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out = ::fdopen(fds[0], "r");
    const std::string first = line();
    const auto at = first.rfind(':');
    REQUIRE(first.starts_with("http_service: listening on 127.0.0.1:"));
    port = std::stoi(first.substr(at + 1));
  }
  ~Service() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out) ::fclose(out);
  }
  std::string line() {
    char buf[512];
    if (!std::fgets(buf, sizeof buf, out)) return {};
    std::string s(buf);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  // SIGTERM, then the exit status.
  int stop() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

// Not a braced json literal inside a coroutine: g++ 12 rejects string literals in an
// initializer list there ("array used as initializer").
std::string note_json(const std::string& title, const std::string& body) {
  nlohmann::json j;
  j["title"] = title;
  j["body"] = body;
  return j.dump();
}

struct Answer {
  unsigned status = 0;
  nlohmann::json body;
};

// One keep-alive connection of one client.
struct Client {
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  explicit Client(boost::asio::any_io_executor ex) : stream(ex) {}

  awaitable<Answer> call(http::verb verb, std::string target, std::string body = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
    }
    co_await http::async_write(stream, req, test::asio::use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, test::asio::use_awaitable);
    co_return Answer{res.result_int(), nlohmann::json::parse(res.body())};
  }
};
}  // namespace

TEST_CASE("examples/http_service: 16 concurrent clients create, read, update and list notes, SIGTERM stops it "
          "cleanly",
          "[db][service]") {
  Service service;
  // Titles unique to this run: the table outlives the process.
  const std::string run = fmt::format("run{}-{}", ::getpid(), std::random_device{}());
  constexpr int clients = 16;
  std::map<int, std::int64_t> ids;  // client → the note it created
  int finished = 0;

  test::run([&]() -> awaitable<void> {
    const auto ex = co_await test::asio::this_coro::executor;
    const tcp::endpoint where(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(service.port));
    for (int i = 0; i < clients; ++i) {
      test::asio::co_spawn(
          ex,
          [&, i]() -> awaitable<void> {
            Client client(ex);
            co_await client.stream.async_connect(where, test::asio::use_awaitable);
            const auto created = co_await client.call(http::verb::post, "/notes",
                                                      note_json(fmt::format("{}-{}", run, i), "first"));
            CHECK(created.status == 201);
            const auto id = created.body.at("id").get<std::int64_t>();
            ids[i] = id;
            const auto read = co_await client.call(http::verb::get, fmt::format("/notes/{}", id));
            CHECK(read.status == 200);
            CHECK(read.body.at("body") == "first");
            const auto updated = co_await client.call(
                http::verb::put, fmt::format("/notes/{}", id),
                note_json(fmt::format("{}-{}-updated", run, i), "second"));
            CHECK(updated.status == 200);
            CHECK(updated.body.at("revision") == 1);
            const auto listed = co_await client.call(http::verb::get, "/notes");
            CHECK(listed.status == 200);
            bool mine = false;
            for (const auto& n : listed.body)
              if (n.at("id") == id) mine = n.at("title") == fmt::format("{}-{}-updated", run, i);
            CHECK(mine);
            ++finished;
          },
          test::asio::detached);
    }
    while (finished < clients) co_await test::sleep_for(std::chrono::milliseconds(20));

    // What a client gets wrong is answered, not crashed on.
    Client client(ex);
    co_await client.stream.async_connect(where, test::asio::use_awaitable);
    const auto bad_json = co_await client.call(http::verb::post, "/notes", "{not json");
    CHECK(bad_json.status == 400);
    const auto missing = co_await client.call(http::verb::get, "/notes/999999999999");
    CHECK(missing.status == 404);
    const auto too_long = co_await client.call(http::verb::post, "/notes", note_json(std::string(201, 'x'), ""));
    CHECK(too_long.status == 422);

    // The database holds what the answers said: every note updated once.
    auto c = co_await test::pg::Connection::connect(test::db_options());
    test::pg::Params like;
    like.add(run + "-%");
    const auto rows = co_await c.execute("SELECT count(*), count(*) FILTER (WHERE revision = 1 AND body = 'second' "
                                         "AND title LIKE '%-updated') FROM service_note WHERE title LIKE $1",
                                         like);
    CHECK(rows.get<std::int64_t>(0, 0) == clients);
    CHECK(rows.get<std::int64_t>(0, 1) == clients);
  });
  CHECK(ids.size() == static_cast<std::size_t>(clients));

  // A client connected but silent (between requests) does not hold the stop up.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(service.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK(service.stop() == 0);
  CHECK(test::ms_since(start) < 5000);  // not the 30 s idle timeout
  CHECK(service.line() == "http_service: stopped");
  ::close(idle);
}
