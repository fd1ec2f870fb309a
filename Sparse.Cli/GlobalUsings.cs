global using System.Diagnostics;
global using System.Globalization;
global using Sparse.Core;
global using Sparse.Topology;
global using Sparse.Training;
