// The generated models' manage command: `manage read-rows` reads one row of every model
// (read_rows(), written by the test script from the generated headers); anything else is
// the library's command line with the models linked in.
#include <cstring>

#include <matrx/orm/cli.hpp>

int read_rows(int argc, char** argv);

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "read-rows") == 0) return read_rows(argc, argv);
  return matrx::orm::cli::main(argc, argv);
}
