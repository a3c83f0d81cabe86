// The consumer's one model.
#pragma once

#include <cstdint>
#include <string>

#include "matrx/orm.hpp"

struct Note {
  std::int64_t id = 0;
  std::string text{};
};
MATRX_MODEL(Note, matrx::orm::table("consumer_note"),
            (id, matrx::orm::primary_key, matrx::orm::identity),
            (text, matrx::orm::max_length(100)))
