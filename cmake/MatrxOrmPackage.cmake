# Install rules and the CMake package (docs/packaging.md):
#   find_package(matrx_orm 0.1 CONFIG REQUIRED)  →  matrx::orm, matrx::orm_cli,
#   matrx_orm_add_manage_command(), matrx_orm_precompile()
# from an installed prefix or from this build tree (matrx_orm_DIR=<build>), and
# lib/pkgconfig/matrx-orm.pc for builds without CMake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(matrx_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/matrx_orm)
set(matrx_cli_main_name matrx_orm_cli_main.cpp)

# The manage command's entry point, wherever matrx_orm_add_manage_command is called from.
if(MATRX_ORM_BUILD_CLI)
  set_property(GLOBAL PROPERTY MATRX_ORM_CLI_MAIN ${MATRX_ORM_CLI_MAIN})
endif()

write_basic_package_version_file(${PROJECT_BINARY_DIR}/matrx_ormConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)

# One template, two configs: the build tree's (absolute paths into the sources) and the
# installed one (paths relative to the prefix it lands in).
set(MATRX_CONFIG_HAS_CLI ${MATRX_ORM_BUILD_CLI})
set(MATRX_CONFIG_HELPERS ${PROJECT_SOURCE_DIR}/cmake)
set(MATRX_CONFIG_CLI_MAIN ${PROJECT_SOURCE_DIR}/tools/matrx-orm/main.cpp)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/matrx_ormConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/matrx_ormConfig.cmake
                              INSTALL_DESTINATION ${PROJECT_BINARY_DIR} INSTALL_PREFIX ${PROJECT_BINARY_DIR}
                              PATH_VARS MATRX_CONFIG_HELPERS MATRX_CONFIG_CLI_MAIN)
export(TARGETS ${matrx_exported_targets} NAMESPACE matrx:: FILE ${PROJECT_BINARY_DIR}/matrx_ormTargets.cmake)

if(NOT MATRX_ORM_INSTALL)
  return()
endif()

install(TARGETS ${matrx_exported_targets} EXPORT matrx_ormTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT matrx_ormTargets NAMESPACE matrx:: DESTINATION ${matrx_cmake_dir})

set(MATRX_CONFIG_HELPERS ${matrx_cmake_dir})
set(MATRX_CONFIG_CLI_MAIN ${CMAKE_INSTALL_DATADIR}/matrx_orm/${matrx_cli_main_name})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/matrx_ormConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/install/matrx_ormConfig.cmake
                              INSTALL_DESTINATION ${matrx_cmake_dir}
                              PATH_VARS MATRX_CONFIG_HELPERS MATRX_CONFIG_CLI_MAIN)
install(FILES ${PROJECT_BINARY_DIR}/install/matrx_ormConfig.cmake ${PROJECT_BINARY_DIR}/matrx_ormConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/MatrxOrmManage.cmake ${PROJECT_SOURCE_DIR}/cmake/MatrxOrmPrecompile.cmake
        DESTINATION ${matrx_cmake_dir})

if(MATRX_ORM_BUILD_CLI)
  install(TARGETS matrx-orm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${MATRX_ORM_CLI_MAIN} DESTINATION ${CMAKE_INSTALL_DATADIR}/matrx_orm RENAME ${matrx_cli_main_name})
endif()

# pkg-config: the library is static, so its own dependencies are listed for every link.
# Relocatable: the prefix is found from the .pc file's own folder (pkg-config's pcfiledir), so
# `cmake --install --prefix` anywhere gives a working file.
get_filename_component(matrx_pg_query_dir ${PG_QUERY_LIBRARY} DIRECTORY)
file(RELATIVE_PATH matrx_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" matrx_pc_to_prefix "${matrx_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/matrx-orm.pc.in ${PROJECT_BINARY_DIR}/matrx-orm.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/matrx-orm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
