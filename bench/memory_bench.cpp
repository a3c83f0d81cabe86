// Peak memory of one large bytea round trip (issue 19: 100 MB peaked at 610 MB), by stage.
// Each stage runs in a fresh child process so its peak RSS (getrusage ru_maxrss) is its own.
// MEMORY_MB sets the payload (default 100). Prints "memory_bench OK" at the end.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "matrx/orm.hpp"

namespace asio = boost::asio;
namespace pg = matrx::orm::pg;

namespace {
std::size_t payload_bytes() {
  const char* mb = std::getenv("MEMORY_MB");
  return static_cast<std::size_t>(mb ? std::atol(mb) : 100) << 20;
}

long peak_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Runs `stage` in a child; returns the child's peak RSS in MiB beyond its baseline.
double peak_of(const char* name, std::function<asio::awaitable<void>()> stage) {
  int pipefd[2];
  if (pipe(pipefd) != 0) std::abort();
  const pid_t child = fork();
  if (child == 0) {
    close(pipefd[0]);
    const long before = peak_kib();
    asio::io_context io;
    auto done = asio::co_spawn(io, stage(), asio::use_future);
    io.run();
    done.get();
    const double grown = (peak_kib() - before) / 1024.0;
    if (write(pipefd[1], &grown, sizeof grown) != sizeof grown) _exit(2);
    _exit(0);
  }
  close(pipefd[1]);
  double grown = -1;
  if (read(pipefd[0], &grown, sizeof grown) != sizeof grown) grown = -1;
  close(pipefd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || grown < 0) {
    std::fprintf(stderr, "memory_bench: stage %s failed\n", name);
    std::exit(1);
  }
  return grown;
}
}  // namespace

int main() {
  const std::size_t n = payload_bytes();
  const double mb = n / 1048576.0;
  auto setup = []() -> asio::awaitable<void> {
    const pg::ConnectOptions options;  // a named local: g++ 12 destroys a temporary in co_await twice
    auto c = co_await pg::Connection::connect(options);
    co_await c.execute("DROP TABLE IF EXISTS memory_bench");
    co_await c.execute("CREATE TABLE memory_bench (id int PRIMARY KEY, data bytea)");
  };
  peak_of("setup", setup);

  const double payload_only = peak_of("payload", [n]() -> asio::awaitable<void> {
    matrx::orm::Bytes data(std::vector<std::uint8_t>(n, 0x5a));
    volatile auto touch = data.data[n / 2];
    (void)touch;
    co_return;
  });
  const double send = peak_of("send", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;  // a named local: g++ 12 destroys a temporary in co_await twice
    auto c = co_await pg::Connection::connect(options);
    matrx::orm::Bytes data(std::vector<std::uint8_t>(n, 0x5a));
    auto p = pg::Params::of(1, data);
    co_await c.execute("INSERT INTO memory_bench VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", p);
  });
  const double receive = peak_of("receive", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;  // a named local: g++ 12 destroys a temporary in co_await twice
    auto c = co_await pg::Connection::connect(options);
    auto r = co_await c.execute("SELECT data FROM memory_bench WHERE id = 1");
    auto data = r.get<matrx::orm::Bytes>(0, 0);
    if (data.data.size() != n) throw std::runtime_error("short read");
  });
  const double round_trip = peak_of("round trip", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;  // a named local: g++ 12 destroys a temporary in co_await twice
    auto c = co_await pg::Connection::connect(options);
    matrx::orm::Bytes data(std::vector<std::uint8_t>(n, 0x5a));
    auto p = pg::Params::of(2, data);
    co_await c.execute("INSERT INTO memory_bench VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", p);
    auto r = co_await c.execute("SELECT data FROM memory_bench WHERE id = 2");
    auto back = r.get<matrx::orm::Bytes>(0, 0);
    if (back != data) throw std::runtime_error("round trip changed the data");
  });
  // The same round trip with the value borrowed (Params::add_borrowed), not copied into Params.
  const double borrowed = peak_of("round trip, borrowed", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;
    auto c = co_await pg::Connection::connect(options);
    matrx::orm::Bytes data(std::vector<std::uint8_t>(n, 0x5a));
    pg::Params p;
    p.add(3).add_borrowed(data.data);
    co_await c.execute("INSERT INTO memory_bench VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", p);
    auto r = co_await c.execute("SELECT data FROM memory_bench WHERE id = 3");
    auto back = r.get<matrx::orm::Bytes>(0, 0);
    if (back != data) throw std::runtime_error("round trip changed the data");
  });
  // Received and read in place (Result::raw: a view into libpq's result, no decoded copy).
  const double viewed = peak_of("receive, viewed", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;
    auto c = co_await pg::Connection::connect(options);
    auto r = co_await c.execute("SELECT data FROM memory_bench WHERE id = 1");
    if (r.raw(0, 0).data.size() != n) throw std::runtime_error("short read");
  });
  const double borrowed_send = peak_of("send, borrowed", [n]() -> asio::awaitable<void> {
    const pg::ConnectOptions options;
    auto c = co_await pg::Connection::connect(options);
    matrx::orm::Bytes data(std::vector<std::uint8_t>(n, 0x5a));
    pg::Params p;
    p.add(4).add_borrowed(data.data);
    co_await c.execute("INSERT INTO memory_bench VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", p);
  });
  fmt::print("payload {:.0f} MiB: send with add_borrowed {:.0f} MiB ({:.2f}x), receive read with Result::raw {:.0f} MiB ({:.2f}x)\n",
             mb, borrowed_send, borrowed_send / mb, viewed, viewed / mb);
  fmt::print("payload {:.0f} MiB: round trip with add_borrowed {:.0f} MiB ({:.2f}x)\n", mb, borrowed, borrowed / mb);
  fmt::print("payload {:.0f} MiB: peak growth payload alone {:.0f} MiB, send {:.0f} MiB ({:.2f}x), receive {:.0f} MiB "
             "({:.2f}x), round trip {:.0f} MiB ({:.2f}x)\n",
             mb, payload_only, send, send / mb, receive, receive / mb, round_trip, round_trip / mb);
  peak_of("cleanup", []() -> asio::awaitable<void> {
    const pg::ConnectOptions options;  // a named local: g++ 12 destroys a temporary in co_await twice
    auto c = co_await pg::Connection::connect(options);
    co_await c.execute("DROP TABLE memory_bench");
  });
  fmt::print("memory_bench OK\n");
}
