using ScottPlot;
using SkiaSharp;

namespace Sparse.Cli;

/// <summary>
/// <c>--plot</c>: loss, accuracy (classification), connections per sparse layer and connections rewired per
/// layer in each epoch (when the topology changed) against the epoch, as panels of one PNG, drawn with
/// ScottPlot and stacked with SkiaSharp; written atomically.
/// </summary>
internal static class CurvePlot
{
    private const int Width = 900;
    private const int PanelHeight = 320;

    public static void Write(string path, TrainingHistory history)
    {
        var epochs = history.Epochs;
        double[] x = [.. epochs.Select(e => e.Epoch + 1.0)];
        var panels = new List<byte[]>
        {
            Panel("Loss", x, ("train", epochs.Select(e => (double?)e.TrainLoss)), ("test", epochs.Select(e => (double?)e.TestLoss))),
        };
        if (epochs.Any(e => e.TrainAccuracy is not null))
        {
            panels.Add(Panel("Accuracy", x, ("train", epochs.Select(e => (double?)e.TrainAccuracy)), ("test", epochs.Select(e => (double?)e.TestAccuracy))));
        }

        var layers = epochs.Count == 0 ? 0 : epochs.Max(e => e.LayerConnections.Count);
        panels.Add(Panel("Connections per layer", x, [.. Enumerable.Range(0, layers).Select(l =>
            ($"layer {l}", epochs.Select(e => l < e.LayerConnections.Count ? (double?)e.LayerConnections[l] : null)))]));

        if (epochs.Any(e => e.LayerGrown.Count > 0 || e.LayerPruned.Count > 0))
        {
            // A constant budget keeps the connection counts flat; what evolution did shows in what it moved.
            panels.Add(Panel("Connections rewired in the epoch (grown; pruned dashed where it differs)", x, [.. Enumerable.Range(0, layers).SelectMany(l =>
            {
                var grown = ($"layer {l} grown", epochs.Select(e => (double?)(l < e.LayerGrown.Count ? e.LayerGrown[l] : 0)));
                return epochs.All(e => (l < e.LayerGrown.Count ? e.LayerGrown[l] : 0) == (l < e.LayerPruned.Count ? e.LayerPruned[l] : 0))
                    ? new[] { grown }
                    : [grown, ($"layer {l} pruned", epochs.Select(e => (double?)(l < e.LayerPruned.Count ? e.LayerPruned[l] : 0)))];
            })]));
        }

        using var bitmap = new SKBitmap(Width, PanelHeight * panels.Count);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            for (var n = 0; n < panels.Count; n++)
            {
                using var panel = SKBitmap.Decode(panels[n]);
                canvas.DrawBitmap(panel, 0, PanelHeight * n);
            }
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, stream => png.SaveTo(stream));
    }

    private static byte[] Panel(string title, double[] x, params (string Name, IEnumerable<double?> Values)[] series)
    {
        var plot = new Plot();
        foreach (var (name, values) in series)
        {
            var points = x.Zip(values).Where(p => p.Second is not null).ToArray();
            if (points.Length == 0)
            {
                continue;
            }

            var scatter = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second!.Value).ToArray());
            scatter.LegendText = name;
            if (name.EndsWith(" pruned", StringComparison.Ordinal))
            {
                scatter.LinePattern = LinePattern.Dashed;
            }
        }

        // Epochs are whole numbers: no tick at 2.5.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(title);
        plot.XLabel("epoch");
        plot.ShowLegend();
        return plot.GetImageBytes(Width, PanelHeight, ImageFormat.Png);
    }
}
