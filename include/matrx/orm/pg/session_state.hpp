// Which statements leave state in the session after they finish — a setting, a temporary
// table, a LISTEN, a holdable cursor, a prepared statement, a session advisory lock — so that
// a pool can reset a returned connection only when something was left (RELIABILITY C3) and
// pay nothing for connections that only ran the ORM's own statements.
#pragma once

#include <string_view>

namespace matrx::orm::pg {

/// True for SET/RESET (not SET LOCAL, SET TRANSACTION, SET CONSTRAINTS), LISTEN, UNLISTEN,
/// PREPARE, LOAD, DO, CALL, CREATE … TEMP/TEMPORARY …, DECLARE … WITH HOLD, and any statement
/// that calls pg_advisory_lock* or set_config. A function of the user's that sets state
/// without these is not seen: PoolConfig::session_reset = always covers that.
bool touches_session(std::string_view sql) noexcept;

/// DISCARD ALL: the statement that undoes all of the above.
bool resets_session(std::string_view sql) noexcept;

}  // namespace matrx::orm::pg
