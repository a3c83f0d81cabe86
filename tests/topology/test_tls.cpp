// D1 of RELIABILITY.md: the sslmode matrix, against a server that `testdb.sh run --tls` gave a
// CA, a certificate for CN=localhost and two CRLs. libpq does the work; these tests show that
// every option reaches it unchanged and that each refusal is an error of the right type.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "../integration/db_fixture.hpp"
#include "../support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
namespace orm = matrx::orm;
using test::asio::awaitable;

namespace {
std::string tls_file(const char* name) {
  const char* dir = std::getenv("TESTDB_TLS_DIR");
  if (!dir) throw std::runtime_error("TLS tests need `tools/testdb.sh run --tls`");
  return fmt::format("{}/{}", dir, name);
}

// Role matrx_tls may connect over TLS only (hostssl; hostnossl rejects it).
test::pg::ConnectOptions tls_options(const std::string& host, const std::string& sslmode) {
  test::pg::ConnectOptions o;
  o.keywords = {{"host", host}, {"port", std::getenv("PGPORT")}, {"user", "matrx_tls"}, {"dbname", "postgres"},
                {"sslmode", sslmode}};
  o.connect_timeout = 5000ms;
  return o;
}

awaitable<bool> uses_tls(test::pg::Connection& c) {
  auto r = co_await c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  co_return r.get<bool>(0, 0);
}

// libpq looks for ~/.postgresql/root.crt when no sslrootcert is given: an empty HOME makes
// "no root certificate" the same on every machine.
struct EmptyHome {
  testsupport::TempDir home{"tls_home"};
  EmptyHome() {
    ::setenv("HOME", home.path.c_str(), 1);
    ::unsetenv("PGSSLROOTCERT");
    ::unsetenv("PGSSLCRL");
  }
};
}  // namespace

TEST_CASE("D1: the sslmode matrix is libpq's: disable refused by hostssl, require, verify-ca, verify-full, CRL",
          "[tls]") {
  EmptyHome home;
  test::run([]() -> awaitable<void> {
    // disable: the server's hostnossl line rejects the role, an authentication refusal (28000).
    std::string sqlstate;
    try {
      co_await test::pg::Connection::connect(tls_options("127.0.0.1", "disable"));
    } catch (const orm::AuthenticationError& e) {
      sqlstate = e.context().sqlstate;
    }
    CHECK(sqlstate == "28000");

    // prefer and require: encrypted, the certificate is not checked (no root certificate).
    for (const char* mode : {"prefer", "require"}) {
      auto c = co_await test::pg::Connection::connect(tls_options("127.0.0.1", mode));
      const bool encrypted = co_await uses_tls(c);
      CHECK(encrypted);
    }

    // verify-ca and verify-full need a root certificate: without one, libpq refuses.
    for (const char* mode : {"verify-ca", "verify-full"}) {
      CHECK_THROWS_MATCHES(co_await test::pg::Connection::connect(tls_options("localhost", mode)),
                           orm::ConnectionError, Catch::Matchers::Predicate<orm::ConnectionError>([](const auto& e) {
                             return std::string(e.what()).find("root certificate file") != std::string::npos;
                           }));
    }

    // A root certificate of another CA: the server's certificate does not verify.
    auto other = tls_options("localhost", "verify-ca");
    other.keywords.emplace_back("sslrootcert", tls_file("other-root.crt"));
    CHECK_THROWS_WITH(co_await test::pg::Connection::connect(other), Catch::Contains("certificate verify failed"));

    // The right CA: verify-ca accepts any host name, verify-full only the certificate's.
    auto by_ip_ca = tls_options("127.0.0.1", "verify-ca");
    by_ip_ca.keywords.emplace_back("sslrootcert", tls_file("root.crt"));
    auto ca_ok = co_await test::pg::Connection::connect(by_ip_ca);
    const bool ca_encrypted = co_await uses_tls(ca_ok);
    CHECK(ca_encrypted);

    auto by_ip_full = tls_options("127.0.0.1", "verify-full");
    by_ip_full.keywords.emplace_back("sslrootcert", tls_file("root.crt"));
    CHECK_THROWS_WITH(co_await test::pg::Connection::connect(by_ip_full),
                      Catch::Contains("does not match host name \"127.0.0.1\""));

    auto by_name_full = tls_options("localhost", "verify-full");
    by_name_full.keywords.emplace_back("sslrootcert", tls_file("root.crt"));
    auto full_ok = co_await test::pg::Connection::connect(by_name_full);
    const bool full_encrypted = co_await uses_tls(full_ok);
    CHECK(full_encrypted);

    // A CRL that lists nothing changes nothing; one that revokes the server's certificate
    // makes the same connection fail.
    auto empty_crl = by_name_full;
    empty_crl.keywords.emplace_back("sslcrl", tls_file("empty.crl"));
    auto crl_ok = co_await test::pg::Connection::connect(empty_crl);
    const bool crl_encrypted = co_await uses_tls(crl_ok);
    CHECK(crl_encrypted);
    auto revoked = by_name_full;
    revoked.keywords.emplace_back("sslcrl", tls_file("revoked.crl"));
    CHECK_THROWS_WITH(co_await test::pg::Connection::connect(revoked), Catch::Contains("certificate verify failed"));
  });
}

TEST_CASE("D2: under TLS a timed-out query is cancelled (libpq 15: the cancel request is plaintext) and the "
          "connection goes on",
          "[tls]") {
  EmptyHome home;
  test::run([]() -> awaitable<void> {
    auto options = tls_options("localhost", "verify-full");
    options.keywords.emplace_back("sslrootcert", tls_file("root.crt"));
    test::pg::PoolConfig config;
    config.max_size = 2;
    test::pg::Pool pool(co_await test::asio::this_coro::executor, options, config);
    {
      auto c = co_await pool.acquire();
      const bool encrypted = co_await uses_tls(c.connection());
      CHECK(encrypted);
      co_await c->execute("SET statement_timeout = '100ms'");
      CHECK_THROWS_AS(co_await c->execute("SELECT pg_sleep(5)"), orm::QueryCanceledError);
      const auto after = co_await c->execute("SELECT 41 + 1");
      CHECK(after.get<int>(0, 0) == 42);
    }
    // A cancel the client sends (not the server's own timeout): our CancelRequest, plaintext
    // to the same host and port, reaches a server that only lets this role in over TLS. The
    // next statement on the same connection answering at once shows the sleep was stopped
    // (an undelivered cancel discards the connection instead).
    {
      auto c = co_await pool.acquire();
      const auto start = std::chrono::steady_clock::now();
      test::asio::steady_timer timer(co_await test::asio::this_coro::executor, 100ms);
      auto outcome = co_await (c->execute("SELECT pg_sleep(5)") || timer.async_wait(test::asio::use_awaitable));
      CHECK(outcome.index() == 1);
      const auto after = co_await c->execute("SELECT 1");
      CHECK(after.get<int>(0, 0) == 1);
      CHECK(test::ms_since(start) < 3000);
    }
    pool.close();
  });
}
