// A fresh directory under the system temp dir (unique per process and tag), removed at the
// end of the test: where migration tests write their .sql files.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace testsupport {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / ("matrx_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& file, const std::string& content) const {
    std::ofstream(path / file, std::ios::binary) << content;
  }
};

}  // namespace testsupport
