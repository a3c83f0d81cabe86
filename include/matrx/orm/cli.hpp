// The `matrx-orm` command line as a library entry point. The `matrx-orm` binary calls it with
// no models linked in; a service builds its own manage executable (its models registered) with
// one CMake line — matrx_orm_add_manage_command(manage) — so that makemigrations can see them.
#pragma once

namespace matrx::orm::cli {

/// Exit codes (docs/cli.md).
enum ExitCode : int {
  ok = 0,
  error = 1,            ///< any other failure (the message says which)
  usage = 2,            ///< bad command line
  drift = 3,            ///< makemigrations --check: the database differs from the models
  lock_timeout = 4,     ///< another run held the migration lock too long
  checksum = 5,         ///< an applied migration's file changed or is missing
  dirty = 6,            ///< a no-transaction migration failed midway (see `resolve`)
};

/// Parses the command line and runs the subcommand: makemigrations, migrate, rollback,
/// status, create_empty, resolve, export-models. Prints to stdout/stderr, returns an ExitCode.
int main(int argc, char** argv);

}  // namespace matrx::orm::cli
