// The migration test models, linked into the test manage command (mg_manage) so that its
// makemigrations sees them.
#include "migration_models.hpp"
