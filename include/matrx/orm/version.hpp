// The library's version. CMakeLists.txt reads these three lines for project(VERSION), so the
// header, the CMake package version and matrx-orm.pc always agree.
#pragma once

#define MATRX_ORM_VERSION_MAJOR 0
#define MATRX_ORM_VERSION_MINOR 1
#define MATRX_ORM_VERSION_PATCH 0
/// MAJOR * 10000 + MINOR * 100 + PATCH, for `#if MATRX_ORM_VERSION >= 100` style checks.
#define MATRX_ORM_VERSION (MATRX_ORM_VERSION_MAJOR * 10000 + MATRX_ORM_VERSION_MINOR * 100 + MATRX_ORM_VERSION_PATCH)

#define MATRX_ORM_DETAIL_STR(x) #x
#define MATRX_ORM_DETAIL_XSTR(x) MATRX_ORM_DETAIL_STR(x)

namespace matrx::orm {
/// "MAJOR.MINOR.PATCH" of the headers this translation unit was compiled with.
inline constexpr const char* version_string = MATRX_ORM_DETAIL_XSTR(MATRX_ORM_VERSION_MAJOR) "." MATRX_ORM_DETAIL_XSTR(
    MATRX_ORM_VERSION_MINOR) "." MATRX_ORM_DETAIL_XSTR(MATRX_ORM_VERSION_PATCH);
}  // namespace matrx::orm
