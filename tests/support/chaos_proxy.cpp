#include "chaos_proxy.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace test {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
struct Session {
  explicit Session(tcp::socket accepted) : client(std::move(accepted)), server(client.get_executor()) {}
  tcp::socket client, server;
  std::size_t forwarded = 0;
  std::size_t limit = std::numeric_limits<std::size_t>::max();

  void reset() {
    boost::system::error_code ignored;
    for (auto* s : {&client, &server}) {
      if (!s->is_open()) continue;
      s->set_option(asio::socket_base::linger(true, 0), ignored);  // close with RST
      s->close(ignored);
    }
  }
};
}  // namespace

struct ChaosProxy::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::endpoint target;
  std::atomic<bool> paused{false};
  std::atomic<std::size_t> limit{std::numeric_limits<std::size_t>::max()};
  std::atomic<long> latency_ms{0};
  std::atomic<std::size_t> accepted{0};
  std::vector<std::weak_ptr<Session>> sessions;  // touched on the proxy's thread only
  std::thread thread;

  // Polls, every 5 ms: a test tool, where a wake-up list would be more code than it saves.
  asio::awaitable<void> while_paused() {
    while (paused.load()) {
      asio::steady_timer t(io, std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
  }

  asio::awaitable<void> pump(std::shared_ptr<Session> s, tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buffer;
    for (;;) {
      std::size_t n = co_await from.async_read_some(asio::buffer(buffer), asio::use_awaitable);
      co_await while_paused();
      if (const long ms = latency_ms.load(); ms > 0) {
        asio::steady_timer t(io, std::chrono::milliseconds(ms));
        co_await t.async_wait(asio::use_awaitable);
      }
      const bool cut = s->forwarded + n > s->limit;
      if (cut) n = s->limit - s->forwarded;
      s->forwarded += n;
      if (n > 0) co_await asio::async_write(to, asio::buffer(buffer.data(), n), asio::use_awaitable);
      if (cut) {
        s->reset();
        co_return;
      }
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<Session> s) {
    using namespace asio::experimental::awaitable_operators;
    try {
      co_await while_paused();
      co_await s->server.async_connect(target, asio::use_awaitable);
      co_await (pump(s, s->client, s->server) && pump(s, s->server, s->client));
    } catch (const std::exception&) {
      // one side closed or was reset: end the other too
    }
    boost::system::error_code ignored;
    s->client.close(ignored);
    s->server.close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket client = co_await acceptor.async_accept(asio::use_awaitable);
      ++accepted;
      auto s = std::make_shared<Session>(std::move(client));
      s->limit = limit.load();
      std::erase_if(sessions, [](const auto& w) { return w.expired(); });
      sessions.push_back(s);
      asio::co_spawn(io, serve(s), asio::detached);
    }
  }
};

ChaosProxy::ChaosProxy(std::string target_host, unsigned short target_port) : impl_(std::make_unique<Impl>()) {
  impl_->target = tcp::endpoint(asio::ip::make_address(target_host), target_port);
  const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(local.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(local);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

ChaosProxy::ChaosProxy()
    : ChaosProxy("127.0.0.1", static_cast<unsigned short>(std::atoi(std::getenv("PGPORT") ? std::getenv("PGPORT") : "5432"))) {}

ChaosProxy::~ChaosProxy() {
  impl_->io.stop();
  impl_->thread.join();
}

unsigned short ChaosProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string ChaosProxy::conninfo() const {
  const char* user = std::getenv("PGUSER");
  const char* db = std::getenv("PGDATABASE");
  return fmt::format("host=127.0.0.1 port={} user={} dbname={}", port(), user ? user : "postgres", db ? db : "postgres");
}

void ChaosProxy::pause() { impl_->paused = true; }
void ChaosProxy::resume() { impl_->paused = false; }
void ChaosProxy::cut_after(std::size_t bytes) { impl_->limit = bytes; }
void ChaosProxy::delay(std::chrono::milliseconds latency) { impl_->latency_ms = latency.count(); }
std::size_t ChaosProxy::connections_accepted() const { return impl_->accepted.load(); }

void ChaosProxy::reset_all() {
  std::atomic<bool> done{false};
  asio::post(impl_->io, [&] {
    for (auto& w : impl_->sessions)
      if (auto s = w.lock()) s->reset();
    done = true;
    done.notify_one();
  });
  done.wait(false);
}

}  // namespace test
