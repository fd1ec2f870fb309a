using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Sparse.Training;

/// <summary>
/// Decompresses a gzip file and, at its end, checks the CRC-32 and the length mod 2^32 that the gzip
/// trailer (the file's last 8 bytes) records, so a truncated or damaged file is an error naming the file
/// instead of a shorter table. A file of several concatenated gzip members passes when the last member's
/// trailer happens to describe the whole output, which it does not in general: such files are reported as
/// damaged (recompress them as one member: <c>zcat a.gz | gzip &gt; b.gz</c>).
/// </summary>
internal sealed class CheckedGZipStream : Stream
{
    private readonly string _path;
    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private readonly Crc32 _crc = new();
    private readonly uint _expectedCrc;
    private readonly uint _expectedLength;
    private long _length;
    private bool _verified;

    private CheckedGZipStream(string path, FileStream file, uint expectedCrc, uint expectedLength)
    {
        _path = path;
        _file = file;
        _expectedCrc = expectedCrc;
        _expectedLength = expectedLength;
        _gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>Opens <paramref name="path"/>, checking the gzip magic number and reading the trailer first.</summary>
    /// <exception cref="DataFormatException">The file is not gzip, or too short to be one.</exception>
    public static CheckedGZipStream Open(string path, FileStream file)
    {
        Span<byte> head = stackalloc byte[2];
        // The smallest gzip file (empty content) is 20 bytes: a 10-byte header, 2 bytes of deflate, the 8-byte trailer.
        if (file.Length < 18 || file.ReadAtLeast(head, 2, throwOnEndOfStream: false) < 2 || head[0] != 0x1f || head[1] != 0x8b)
        {
            throw new DataFormatException($"{path}: not a gzip file (the name ends in .gz but the content does not start like gzip).");
        }

        Span<byte> trailer = stackalloc byte[8];
        file.Seek(-8, SeekOrigin.End);
        file.ReadExactly(trailer);
        file.Seek(0, SeekOrigin.Begin);
        return new CheckedGZipStream(path, file, BinaryPrimitives.ReadUInt32LittleEndian(trailer), BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]));
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _gzip.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{_path}: damaged gzip data after {_length:N0} bytes ({e.Message})");
        }

        if (read > 0)
        {
            _crc.Append(buffer[..read]);
            _length += read;
        }
        else if (!_verified && buffer.Length > 0)
        {
            _verified = true;
            if (_crc.GetCurrentHashAsUInt32() != _expectedCrc || (uint)_length != _expectedLength)
            {
                throw new DataFormatException($"{_path}: truncated or damaged gzip file (the data ends after {_length:N0} bytes and does not match the gzip trailer's length and CRC-32).");
            }
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
