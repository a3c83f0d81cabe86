// Database URLs and conninfo strings (RELIABILITY E10, and the no-password-in-text rule):
// from_url either accepts or throws ConfigurationError, and when the input names a password,
// neither the error text nor describe() nor the redacted conninfo contains it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/config.hpp"
#include "matrx/orm/pg/detail/secrets.hpp"

namespace pg = matrx::orm::pg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string url(reinterpret_cast<const char*>(bytes), size);
  if (url.find('\0') != std::string::npos) return 0;  // C strings for libpq
  // A password the redaction must hide, in both forms libpq reads.
  const std::string secret = "Fz9qSecretPw";
  const std::string inputs[] = {url, "postgresql://u:" + secret + "@" + url, url + " password=" + secret};
  for (const auto& input : inputs) {
    std::string shown;
    try {
      const auto config = pg::DatabaseConfig::from_url("fuzz", input);
      shown = config.describe() + pg::detail::redacted_conninfo(input);
    } catch (const matrx::orm::ConfigurationError& e) {
      shown = e.what();
    }
    if (input != url && shown.find(secret) != std::string::npos) std::abort();
  }
  return 0;
}
