// Links the model into the manage command (it registers itself at start-up).
#include "models.hpp"
