// matrx-orm umbrella header.
#pragma once

#include <nlohmann/json.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/log.hpp"
#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/meta/options.hpp"
#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/meta/sql_type.hpp"
#include "matrx/orm/pg/codec.hpp"
#include "matrx/orm/pg/config.hpp"
#include "matrx/orm/pg/connection.hpp"
#include "matrx/orm/pg/database.hpp"
#include "matrx/orm/pg/params.hpp"
#include "matrx/orm/pg/pool.hpp"
#include "matrx/orm/pg/result.hpp"
#include "matrx/orm/pg/sqlstate.hpp"
#include "matrx/orm/pg/types.hpp"
#include "matrx/orm/query/column.hpp"
#include "matrx/orm/query/compiler.hpp"
#include "matrx/orm/query/expression.hpp"
#include "matrx/orm/query/value.hpp"
#include "matrx/orm/sync.hpp"
