# A precompiled <matrx/orm.hpp>. Parsing the library's headers (Asio, nlohmann/json, fmt and
# the ORM's templates) costs every translation unit that includes them about 4–5 s at -O2 -g
# on this project's 2-core machine; precompiled, a build pays that once (docs/performance.md,
# "Build time").
#
#   matrx_orm_precompile(<target> [<target>...])
#
# The first target compiles the header; the others reuse its precompiled header, so every
# target named must be compiled with the same flags (build type, -std, sanitizers). Macros
# defined per target are fine as long as the library's headers do not test them.
function(matrx_orm_precompile first)
  target_precompile_headers(${first} PRIVATE <matrx/orm.hpp>)
  foreach(target IN LISTS ARGN)
    target_precompile_headers(${target} REUSE_FROM ${first})
  endforeach()
endfunction()
