# Warning flags shared by every target of the project (TOOLCHAIN.md §1, pitfalls 2 and 6).
function(matrx_orm_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
endfunction()
