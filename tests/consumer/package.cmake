# [package-begin]
find_package(matrx_orm 0.1 CONFIG REQUIRED)  # matrx::orm, matrx::orm_cli and the helpers
# [package-end]
