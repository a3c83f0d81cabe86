#include "matrx/orm/pg/config.hpp"

#include <libpq-fe.h>

#include <charconv>

#include <fmt/format.h>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/detail/secrets.hpp"

namespace matrx::orm::pg {

DatabaseConfig DatabaseConfig::from_url(std::string name, std::string url) {
  DatabaseConfig c;
  c.name = std::move(name);
  c.url = std::move(url);
  c.validate();
  return c;
}

ConnectOptions DatabaseConfig::connect_options() const {
  ConnectOptions o;
  o.conninfo = url;
  auto set = [&](const char* key, const std::string& value) {
    if (!value.empty()) o.keywords.emplace_back(key, value);
  };
  set("host", host);
  set("port", port);
  set("dbname", database_name);
  set("user", user);
  set("sslmode", sslmode);
  set("application_name", application_name);
  o.password = password;
  o.connect_timeout = connect_timeout;
  o.cancel_mode = cancel_mode;
  o.cancel_timeout = cancel_timeout;
  o.statement_timeout = statement_timeout;
  o.pooler_mode = pooler_mode;
  o.statement_cache_size = statement_cache_size;
  return o;
}

std::string DatabaseConfig::describe() const {
  std::string h = host, p = port, d = database_name, u = user;
  if (!url.empty()) {
    char* err = nullptr;
    if (PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err)) {
      for (auto* o = opts; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string_view k = o->keyword;
        if (k == "host" && h.empty()) h = o->val;
        if (k == "port" && p.empty()) p = o->val;
        if (k == "dbname" && d.empty()) d = o->val;
        if (k == "user" && u.empty()) u = o->val;
      }
      PQconninfoFree(opts);
    }
    if (err) PQfreemem(err);
  }
  // A malformed URL can carry a password into another field ("…/db password=x" is a URI whose
  // database name holds it): the result is redacted like any other text for logs (fuzz_conninfo).
  ConnectOptions secrets;
  secrets.conninfo = url;
  secrets.password = password;
  return detail::redact_secrets(
      fmt::format("postgresql://{}{}{}{}/{}", u, u.empty() ? "" : "@", h, p.empty() ? "" : ":" + p, d), secrets);
}

void DatabaseConfig::validate() const {
  auto fail = [&](std::string message) {
    throw ConfigurationError(std::move(message), ErrorContext{.operation = "register_database", .database = name});
  };
  if (name.empty()) fail("a database needs a name");
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535)
      fail(fmt::format("port '{}' is not a number between 1 and 65535", port));
  }
  if (!sslmode.empty() && sslmode != "disable" && sslmode != "allow" && sslmode != "prefer" && sslmode != "require" &&
      sslmode != "verify-ca" && sslmode != "verify-full")
    fail(fmt::format("sslmode '{}' is not one of disable, allow, prefer, require, verify-ca, verify-full", sslmode));
  if (connect_timeout.count() <= 0) fail("connect_timeout must be positive");
  if (cancel_timeout.count() <= 0) fail("cancel_timeout must be positive");
  if (statement_timeout.count() < 0) fail("statement_timeout must be 0 (none) or positive");
  if (pool.max_size == 0) fail("pool.max_size must be at least 1");
  if (pool.min_size > pool.max_size) fail("pool.min_size must not exceed pool.max_size");
  if (pool.acquire_timeout.count() <= 0) fail("pool.acquire_timeout must be positive");
  if (!url.empty()) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (!opts) {
      std::string message = err ? err : "out of memory";
      if (err) PQfreemem(err);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      ConnectOptions o;
      o.conninfo = url;
      fail(fmt::format("invalid database URL {}: {}", detail::redacted_conninfo(url), detail::redact_secrets(message, o)));
    }
    PQconninfoFree(opts);
  }
}

}  // namespace matrx::orm::pg
