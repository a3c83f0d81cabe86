# matrx_orm_add_manage_command(<name> <sources>...)
#
# One line gives a service its own `matrx-orm` with its models linked in:
#
#   matrx_orm_add_manage_command(manage src/models.cpp)
#   ./manage makemigrations --dir migrations
#
# <sources> are the files that define (or include the headers that define) the models;
# they register themselves at start-up. Every subcommand of docs/cli.md is available.
# Works in this project, after add_subdirectory/FetchContent (with MATRX_ORM_BUILD_CLI=ON)
# and after find_package(matrx_orm).
function(matrx_orm_add_manage_command name)
  if(NOT ARGN)
    message(FATAL_ERROR "matrx_orm_add_manage_command(${name}): name the sources that define the models")
  endif()
  get_property(main GLOBAL PROPERTY MATRX_ORM_CLI_MAIN)
  if(NOT main OR NOT TARGET matrx::orm_cli)
    message(FATAL_ERROR "matrx_orm_add_manage_command(${name}): matrx::orm_cli was not built "
                        "(configure matrx-orm with -DMATRX_ORM_BUILD_CLI=ON; it needs CLI11)")
  endif()
  add_executable(${name} ${main} ${ARGN})
  target_link_libraries(${name} PRIVATE matrx::orm_cli)
endfunction()
