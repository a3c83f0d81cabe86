// Removing passwords from text that may reach logs or exceptions.
#pragma once

#include <string>

#include "matrx/orm/pg/connect_options.hpp"

namespace matrx::orm::pg::detail {

/// Replaces every occurrence of the password — given separately, in a URI's userinfo
/// ("postgresql://user:secret@host") or as password=… in a conninfo — with "********".
std::string redact_secrets(std::string text, const ConnectOptions& options);
/// The conninfo/URI with its password replaced, safe to log.
std::string redacted_conninfo(const std::string& conninfo);

}  // namespace matrx::orm::pg::detail
