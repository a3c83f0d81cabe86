// Reading the SQLSTATE out of libpq's text for a failed connection attempt.
#pragma once

#include <string>

namespace matrx::orm::pg::detail {

struct ConnectFailure {
  std::string message;   ///< libpq's text without the SQLSTATE and LOCATION lines it was asked for
  std::string sqlstate;  ///< the server's code for the last attempt ("28P01", "53300", …), or ""
};

/// libpq 15 keeps a startup ErrorResponse only as text. The connection is opened with
/// PQERRORS_VERBOSE, so the text reads "connection to server … failed: FATAL:  28P01: password
/// authentication failed …\nLOCATION:  auth_failed, auth.c:334": the code sits between the
/// severity and the message whatever language the server speaks. Takes the last attempt's code
/// (a multi-host conninfo lists one failure per host).
ConnectFailure parse_connect_failure(std::string text);

}  // namespace matrx::orm::pg::detail
