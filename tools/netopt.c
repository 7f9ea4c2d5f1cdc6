/* Placeholder until the shared link options land. */
#include "netopt.h"
