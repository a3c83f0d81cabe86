# [fetchcontent-begin]
include(FetchContent)
FetchContent_Declare(matrx_orm GIT_REPOSITORY ${MATRX_SOURCE} GIT_TAG ${MATRX_GIT_TAG})
FetchContent_MakeAvailable(matrx_orm)
# [fetchcontent-end]
