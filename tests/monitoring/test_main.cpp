// Catch2 main for the monitoring tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
