// The `matrx-orm` tool: the library's command line with no models linked in (makemigrations
// takes them from a snapshot, --models FILE; see docs/cli.md).
#include "matrx/orm/cli.hpp"

int main(int argc, char** argv) { return matrx::orm::cli::main(argc, argv); }
