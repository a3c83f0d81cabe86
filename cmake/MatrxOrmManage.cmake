# matrx_orm_add_manage_command(<name> <sources>...)
#
# One line gives a service its own `matrx-orm` with its models linked in:
#
#   matrx_orm_add_manage_command(manage src/models.cpp)
#   ./manage makemigrations --dir migrations
#
# <sources> are the files that define (or include the headers that define) the models;
# they register themselves at start-up. Every subcommand of docs/cli.md is available.
function(matrx_orm_add_manage_command name)
  if(NOT ARGN)
    message(FATAL_ERROR "matrx_orm_add_manage_command(${name}): name the sources that define the models")
  endif()
  add_executable(${name} ${MATRX_ORM_CLI_MAIN} ${ARGN})
  target_link_libraries(${name} PRIVATE matrx::orm_cli)
endfunction()
