# [subdirectory-begin]
set(MATRX_ORM_BUILD_CLI ON)  # optional: matrx::orm_cli and matrx_orm_add_manage_command (needs CLI11)
add_subdirectory(${MATRX_SOURCE} matrx_orm)  # MATRX_SOURCE: where the checkout is
# [subdirectory-end]
